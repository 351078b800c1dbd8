"""Checkpoints: model, optimizer, training position, callback and RNG state in one safe file.

Written as safetensors plus JSON metadata, atomically; read without pickle. Schedules are pure
functions of progress, so the position (`epochs_done`, and `batches_done` within the next epoch
for a checkpoint saved mid-epoch) is all a resumed fit needs to continue the same schedule:
`learn.load(name); learn.fit_one_cycle(n, ..., resume=True)`. For a checkpoint saved mid-epoch
the training loader's generator is stored as it was at the epoch's start, so the resumed fit
replays that epoch's order and augmentations and starts at batch `batches_done`.

Loading checks the whole file against the learner before changing anything, and puts back what
it had changed if applying still fails, so a failed load leaves the learner as it was.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch

from lamina.core.files import load_tensors_json, save_tensors_json
from lamina.core.ranks import barrier, is_main_process
from lamina.core.seed import get_rng_state, set_rng_state
from lamina.core.state import split_state
from lamina.train.checkpoint_check import (
    FORMAT,
    FORMAT_VERSION,
    CheckedCheckpoint,
    bare_model,
    check_checkpoint,
    learner_opt,
    loader_generator,
)

if TYPE_CHECKING:
    from lamina.train.learner import Learner


def save_checkpoint(learn: Learner, path: Path, with_opt: bool = True) -> Path:
    """Write `learn`'s full training state to `path` (see module docstring).

    Under DDP only rank 0 writes, and every process returns once the file is complete.
    """
    if is_main_process():
        _write_checkpoint(learn, path, with_opt)
    barrier()
    return Path(path)


def _write_checkpoint(learn: Learner, path: Path, with_opt: bool) -> Path:
    tensors = {f"model.{key}": value for key, value in bare_model(learn).state_dict().items()}
    rng_values, rng_tensors = get_rng_state()
    tensors.update(rng_tensors)
    loader_state = _loader_state(learn)
    if loader_state is not None:
        tensors["rng.train_loader"] = loader_state
    info = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "epochs_done": learn.epochs_done,
        "batches_done": learn.batches_done,
        "rng": rng_values,
        "callbacks": {
            cb.name: split_state(cb.state_dict(), f"cb.{cb.name}", tensors) for cb in learn.cbs
        },
        "opt": split_state(learner_opt(learn).state_dict(), "opt", tensors) if with_opt else None,
    }
    return save_tensors_json(path, tensors, info)


def _loader_state(learn: Learner) -> torch.Tensor | None:
    """The training loader's generator state to restore: at the start of the epoch in progress
    when saving mid-epoch (the resumed fit replays it from there), else as it is now."""
    generator = loader_generator(learn)
    if generator is None:
        return None
    at_epoch_start = getattr(learn.dls.train, "epoch_start_state", None)
    if learn.batches_done and isinstance(at_epoch_start, torch.Tensor):
        return at_epoch_start
    return generator.get_state()


def load_checkpoint(learn: Learner, path: Path, with_opt: bool = True, strict: bool = True) -> None:
    """Restore what `save_checkpoint` wrote into `learn`; on any error `learn` is unchanged.

    Raises:
        ValueError: the file is not a lamina checkpoint, or a field does not fit this learner
            (the message names the file and the field).
    """
    tensors, info = load_tensors_json(path)
    checked = check_checkpoint(learn, Path(path), tensors, info, with_opt, strict)
    _apply(learn, checked, strict)


# ----------------------------------------------------------------------------- applying
def _apply(learn: Learner, checked: CheckedCheckpoint, strict: bool) -> None:
    """Set everything; if a step still fails, put back what was set and re-raise."""
    saved = _snapshot(learn, checked)
    try:
        _set(learn, checked, strict)
    except BaseException:
        _set(learn, saved, strict=True)
        raise
    learn.epochs_done, learn.batches_done = checked.epochs_done, checked.batches_done


def _snapshot(learn: Learner, checked: CheckedCheckpoint) -> CheckedCheckpoint:
    """What `_set(learn, checked)` would overwrite, without copying the model's weights.

    `state_dict()` results stay valid after a later load: loads replace state, never mutate it.
    """
    generator = loader_generator(learn)
    return CheckedCheckpoint(
        path=checked.path,
        model={},  # set last and checked first: nothing to undo
        opt=learner_opt(learn).state_dict() if checked.opt is not None else None,
        callbacks={cb.name: cb.state_dict() for cb in learn.cbs if cb.name in checked.callbacks},
        rng=get_rng_state(),
        loader_rng=generator.get_state() if generator is not None else None,
        epochs_done=learn.epochs_done,
        batches_done=learn.batches_done,
    )


def _set(learn: Learner, checked: CheckedCheckpoint, strict: bool) -> None:
    for cb in learn.cbs:
        if cb.name in checked.callbacks:
            try:
                cb.load_state_dict(checked.callbacks[cb.name])
            except Exception as error:
                raise ValueError(
                    f"{checked.path}: field 'callbacks.{cb.name}' was refused by "
                    f"{type(cb).__name__}.load_state_dict ({type(error).__name__}: {error})"
                ) from error
    if checked.opt is not None:
        learner_opt(learn).load_state_dict(checked.opt)
    set_rng_state(*checked.rng)
    generator = loader_generator(learn)
    if generator is not None and checked.loader_rng is not None:
        generator.set_state(checked.loader_rng)
    if checked.model:
        try:  # last, as it has no undo; checked before, so not expected to fail
            bare_model(learn).load_state_dict(checked.model, strict=strict)
        except RuntimeError as error:
            raise ValueError(f"{checked.path} does not fit this model: {error}") from error
