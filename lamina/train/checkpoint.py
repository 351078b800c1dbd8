"""Checkpoints: model, optimizer, training position, callback and RNG state in one safe file.

Written as safetensors plus JSON metadata, atomically; read without pickle. Schedules are pure
functions of progress, so the position (`epochs_done`) is all a resumed fit needs to continue the
same schedule: `learn.load(name); learn.fit_one_cycle(n, ..., start_epoch=learn.epochs_done)`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch

from lamina.core.files import load_tensors_json, save_tensors_json
from lamina.core.modules import unwrap_model
from lamina.core.ranks import barrier, is_main_process
from lamina.core.seed import get_rng_state, set_rng_state
from lamina.core.state import join_state, split_state

if TYPE_CHECKING:
    from lamina.train.learner import Learner

FORMAT = "lamina-checkpoint"
FORMAT_VERSION = 1


def _bare_model(learn: Learner) -> torch.nn.Module:
    return unwrap_model(learn.model)  # unwrap torch.compile and DDP


def _loader_generator(learn: Learner) -> torch.Generator | None:
    generator = getattr(learn.dls.train, "generator", None)
    return generator if isinstance(generator, torch.Generator) else None


def save_checkpoint(learn: Learner, path: Path, with_opt: bool = True) -> Path:
    """Write `learn`'s full training state to `path` (see module docstring).

    Under DDP only rank 0 writes, and every process returns once the file is complete.
    """
    if is_main_process():
        _write_checkpoint(learn, path, with_opt)
    barrier()
    return Path(path)


def _write_checkpoint(learn: Learner, path: Path, with_opt: bool) -> Path:
    tensors = {f"model.{key}": value for key, value in _bare_model(learn).state_dict().items()}
    rng_values, rng_tensors = get_rng_state()
    tensors.update(rng_tensors)
    generator = _loader_generator(learn)
    if generator is not None:
        tensors["rng.train_loader"] = generator.get_state()
    info = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "epochs_done": learn.epochs_done,
        "rng": rng_values,
        "callbacks": {
            cb.name: split_state(cb.state_dict(), f"cb.{cb.name}", tensors) for cb in learn.cbs
        },  # fmt: skip
        "opt": split_state(learn.opt.state_dict(), "opt", tensors) if with_opt else None,
    }
    return save_tensors_json(path, tensors, info)


def load_checkpoint(learn: Learner, path: Path, with_opt: bool = True, strict: bool = True) -> None:
    """Restore what `save_checkpoint` wrote into `learn` (model first, then the rest)."""
    tensors, info = load_tensors_json(path)
    if info.get("format") != FORMAT:
        raise ValueError(f"{path} is not a lamina checkpoint (format {info.get('format')!r})")
    if info.get("format_version", 0) > FORMAT_VERSION:
        raise ValueError(f"{path} was written by a newer lamina (format "
                         f"{info['format_version']}); upgrade lamina to read it")  # fmt: skip
    model_state = {key[len("model.") :]: value for key, value in tensors.items()
                   if key.startswith("model.")}  # fmt: skip
    try:
        _bare_model(learn).load_state_dict(model_state, strict=strict)
    except RuntimeError as error:
        raise ValueError(f"{path} does not fit this model: {error}") from error
    if with_opt and info.get("opt") is not None:
        try:
            learn.opt.load_state_dict(join_state(info["opt"], tensors))
        except (ValueError, KeyError) as error:
            raise ValueError(f"{path}: optimizer state does not fit: {error}") from error
    for cb in learn.cbs:
        if cb.name in info.get("callbacks", {}):
            cb.load_state_dict(join_state(info["callbacks"][cb.name], tensors))
    set_rng_state(info["rng"], tensors)
    generator = _loader_generator(learn)
    if generator is not None and "rng.train_loader" in tensors:
        generator.set_state(tensors["rng.train_loader"])
    learn.epochs_done = int(info.get("epochs_done", 0))
