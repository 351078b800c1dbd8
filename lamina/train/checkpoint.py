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

import math
import random
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from lamina.core.files import load_tensors_json, save_tensors_json
from lamina.core.modules import unwrap_model
from lamina.core.ranks import barrier, is_main_process
from lamina.core.seed import get_rng_state, set_rng_state
from lamina.core.state import join_state, split_state
from lamina.train.weights_check import non_finite

if TYPE_CHECKING:
    from lamina.train.learner import Learner

FORMAT = "lamina-checkpoint"
FORMAT_VERSION = 1
# Optimizer state kept per parameter with the parameter's shape (torch.optim, lamina.optim).
_PARAM_SHAPED = frozenset(
    (
        "exp_avg",
        "exp_avg_sq",
        "max_exp_avg_sq",
        "momentum_buffer",
        "lookahead_slow",
        "square_avg",
        "acc_delta",
        "grad_avg",
        "sum",
        "ax",
        "prev",
        "mu_product",
    )
)


def _bare_model(learn: Learner) -> torch.nn.Module:
    return unwrap_model(learn.model)  # unwrap torch.compile and DDP


def _loader_generator(learn: Learner) -> torch.Generator | None:
    generator = getattr(learn.dls.train, "generator", None)
    return generator if isinstance(generator, torch.Generator) else None


def _opt(learn: Learner) -> torch.optim.Optimizer:
    # `Learner.save` and `Learner.load` build the optimizer before they call in here.
    assert learn.opt is not None, "the learner's optimizer is built before a checkpoint"
    return learn.opt


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
        "opt": split_state(_opt(learn).state_dict(), "opt", tensors) if with_opt else None,
    }
    return save_tensors_json(path, tensors, info)


def _loader_state(learn: Learner) -> torch.Tensor | None:
    """The training loader's generator state to restore: at the start of the epoch in progress
    when saving mid-epoch (the resumed fit replays it from there), else as it is now."""
    generator = _loader_generator(learn)
    if generator is None:
        return None
    at_epoch_start = getattr(learn.dls.train, "epoch_start_state", None)
    if learn.batches_done and isinstance(at_epoch_start, torch.Tensor):
        return at_epoch_start
    return generator.get_state()


@dataclass
class _Checked:
    """Everything a checkpoint will set, already checked against the learner."""

    path: Path
    model: dict[str, torch.Tensor]
    opt: dict[str, Any] | None
    callbacks: dict[str, Any]
    rng: tuple[dict[str, Any], dict[str, torch.Tensor]]
    loader_rng: torch.Tensor | None
    epochs_done: int
    batches_done: int


def load_checkpoint(learn: Learner, path: Path, with_opt: bool = True, strict: bool = True) -> None:
    """Restore what `save_checkpoint` wrote into `learn`; on any error `learn` is unchanged.

    Raises:
        ValueError: the file is not a lamina checkpoint, or a field does not fit this learner
            (the message names the file and the field).
    """
    tensors, info = load_tensors_json(path)
    checked = _check(learn, Path(path), tensors, info, with_opt, strict)
    _apply(learn, checked, strict)


# ----------------------------------------------------------------------------- checking
def _field_error(path: Path, field: str, problem: str) -> ValueError:
    return ValueError(f"{path}: field {field!r} {problem}")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _check(
    learn: Learner, path: Path, tensors: dict, info: dict, with_opt: bool, strict: bool
) -> _Checked:
    if info.get("format") != FORMAT:
        raise ValueError(f"{path} is not a lamina checkpoint (format {_short(info.get('format'))})")
    version = info.get("format_version")
    if type(version) is not int or version < 1:
        raise _field_error(path, "format_version", f"must be a positive integer, got {version!r}")
    if version > FORMAT_VERSION:
        raise ValueError(
            f"{path} was written by a newer lamina (format {version}); upgrade lamina to read it"
        )
    epochs_done = info.get("epochs_done")
    if type(epochs_done) is not int or epochs_done < 0:
        raise _field_error(
            path, "epochs_done", f"must be an integer >= 0, got {_short(epochs_done)}"
        )
    batches_done = info.get("batches_done", 0)  # absent from files of lamina 0.1
    if type(batches_done) is not int or batches_done < 0:
        raise _field_error(
            path, "batches_done", f"must be an integer >= 0, got {_short(batches_done)}"
        )
    return _Checked(
        path=path,
        model=_check_model(learn, path, tensors, strict),
        opt=_check_opt(learn, path, info, tensors) if with_opt else None,
        callbacks=_check_callbacks(learn, path, info, tensors),
        rng=_check_rng(path, info, tensors),
        loader_rng=_check_loader_rng(learn, path, tensors),
        epochs_done=epochs_done,
        batches_done=batches_done,
    )


def _check_model(learn: Learner, path: Path, tensors: dict, strict: bool) -> dict:
    state = {
        key[len("model.") :]: value for key, value in tensors.items() if key.startswith("model.")
    }
    expected = _bare_model(learn).state_dict()
    missing = [key for key in expected if key not in state]
    unexpected = [key for key in state if key not in expected]
    if strict and (missing or unexpected):
        raise ValueError(
            f"{path} does not fit this model: missing {missing[:5]}, "
            f"unexpected {unexpected[:5]} (of {len(missing)} and {len(unexpected)})"
        )
    for key, value in state.items():
        target = expected.get(key)
        if target is None or isinstance(target, _UNINITIALIZED):
            continue
        if value.shape != target.shape:
            raise ValueError(
                f"{path} does not fit this model: field 'model.{key}' has shape "
                f"{tuple(value.shape)}, the model's {tuple(target.shape)}"
            )
        if _kind(value) != _kind(target):
            raise ValueError(
                f"{path} does not fit this model: field 'model.{key}' holds "
                f"{value.dtype}, the model {target.dtype}"
            )
    bad = non_finite(state)
    if bad:  # a diverged run's weights: loadable for inspection, but say so
        fields = ", ".join(f"model.{key}" for key in bad[:5])
        warnings.warn(f"{path}: fields {fields} hold NaN or infinite values", stacklevel=4)
    return state


# The lazy modules' placeholders (the stubs omit their common base, UninitializedTensorMixin).
_UNINITIALIZED = (torch.nn.parameter.UninitializedParameter, torch.nn.parameter.UninitializedBuffer)


def _kind(tensor: torch.Tensor) -> str:
    if tensor.is_complex():
        return "complex"
    if tensor.is_floating_point():
        return "float"
    return "bool" if tensor.dtype == torch.bool else "integer"


def _check_opt(learn: Learner, path: Path, info: dict, tensors: dict) -> dict | None:
    if info.get("opt") is None:
        return None
    try:
        state_dict = join_state(info["opt"], tensors)
    except (ValueError, TypeError, AttributeError) as error:
        raise _field_error(path, "opt", f"cannot be read: {error}") from error
    if not (
        isinstance(state_dict, dict)
        and isinstance(state_dict.get("state"), dict)
        and isinstance(state_dict.get("param_groups"), list)
    ):
        raise _field_error(path, "opt", "must hold 'state' (an object) and 'param_groups' (a list)")
    groups, current = state_dict["param_groups"], _opt(learn).state_dict()["param_groups"]
    if len(groups) != len(current):
        raise _field_error(
            path,
            "opt.param_groups",
            f"holds {len(groups)} groups, this optimizer has {len(current)}",
        )
    ids: list[Any] = []
    for index, (group, mine) in enumerate(zip(groups, current, strict=True)):
        _check_group(path, f"opt.param_groups.{index}", group, mine)
        ids.extend(group["params"])
    params = [param for group in _opt(learn).param_groups for param in group["params"]]
    _check_opt_state(path, state_dict["state"], dict(zip(ids, params, strict=True)))
    return state_dict


def _check_group(path: Path, field: str, group: Any, mine: dict) -> None:
    if not isinstance(group, dict) or not isinstance(group.get("params"), list):
        raise _field_error(path, field, "must be an object with a 'params' list")
    if len(group["params"]) != len(mine["params"]):
        raise _field_error(
            path,
            f"{field}.params",
            f"holds {len(group['params'])} parameters, "
            f"this optimizer's group {len(mine['params'])}",
        )
    for key, current in mine.items():
        if key != "params" and key in group and not _fits(group[key], current):
            raise _field_error(
                path,
                f"{field}.{key}",
                f"is {_short(group[key])}, which does not fit this optimizer's {_short(current)}",
            )


def _fits(value: Any, current: Any) -> bool:
    """Whether an optimizer hyper-parameter read from a file can stand in for `current`."""
    if isinstance(current, bool):
        return isinstance(value, bool)
    if isinstance(current, (int, float)):
        is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
        return is_number and (math.isfinite(value) or not math.isfinite(current))
    if isinstance(current, (tuple, list)):
        return (
            isinstance(value, (tuple, list))
            and len(value) == len(current)
            and all(_fits(v, c) for v, c in zip(value, current, strict=True))
        )
    if isinstance(current, torch.Tensor):
        return isinstance(value, torch.Tensor) and value.shape == current.shape
    return True  # None or a string (foreach, fused, ...): nothing to compare


def _check_opt_state(path: Path, state: dict, by_id: dict[Any, torch.Tensor]) -> None:
    for key, values in state.items():
        field = f"opt.state.{key}"
        param = by_id.get(key)
        if param is None:
            raise _field_error(path, field, "belongs to no parameter of the optimizer")
        if not isinstance(values, dict):
            raise _field_error(path, field, f"must be an object, got {_short(values)}")
        for name, value in values.items():
            if name == "step" and not (
                (isinstance(value, (int, float)) and not isinstance(value, bool))
                or (isinstance(value, torch.Tensor) and value.numel() == 1)
            ):
                raise _field_error(path, f"{field}.step", f"must be a number, got {_short(value)}")
            if (
                name in _PARAM_SHAPED
                and isinstance(value, torch.Tensor)
                and value.shape != param.shape
            ):
                raise _field_error(
                    path,
                    f"{field}.{name}",
                    f"has shape {tuple(value.shape)}, its parameter {tuple(param.shape)}",
                )


def _check_callbacks(learn: Learner, path: Path, info: dict, tensors: dict) -> dict[str, Any]:
    section = info.get("callbacks", {})
    if not isinstance(section, dict):
        raise _field_error(path, "callbacks", f"must be an object, got {_short(section)}")
    states = {}
    for cb in learn.cbs:
        if cb.name not in section:
            continue
        try:
            state = join_state(section[cb.name], tensors)
        except (ValueError, TypeError, AttributeError) as error:
            raise _field_error(path, f"callbacks.{cb.name}", f"cannot be read: {error}") from error
        if not isinstance(state, dict):
            raise _field_error(
                path, f"callbacks.{cb.name}", f"must be an object, got {_short(state)}"
            )
        states[cb.name] = state
    return states


_RNG_ERRORS = (KeyError, TypeError, ValueError, RuntimeError, OverflowError, AttributeError)


def _check_rng(path: Path, info: dict, tensors: dict) -> tuple[dict, dict]:
    """The RNG state, tried on fresh generators (the global ones are untouched)."""
    values = info.get("rng")
    if not isinstance(values, dict):
        problem = "is missing" if values is None else f"must be an object, got {_short(values)}"
        raise _field_error(path, "rng", problem)
    trials: dict[str, Callable[[], object]] = {
        "rng.python": lambda: random.Random().setstate(
            (
                values["python"]["version"],
                tuple(int(v) for v in tensors["rng.python"].tolist()),
                values["python"]["gauss"],
            )
        ),
        "rng.numpy": lambda: np.random.RandomState().set_state(
            (
                values["numpy"]["kind"],
                tensors["rng.numpy"].numpy().astype(np.uint32),
                values["numpy"]["pos"],
                values["numpy"]["has_gauss"],
                values["numpy"]["gauss"],
            )
        ),
        "rng.torch": lambda: torch.Generator().set_state(tensors["rng.torch"]),
    }
    devices = values.get("cuda_devices", 0)
    if type(devices) is not int or devices < 0:
        raise _field_error(path, "rng.cuda_devices", f"must be an integer >= 0, got {devices!r}")
    available = torch.cuda.device_count() if torch.cuda.is_available() else 0
    for index in range(min(devices, available)):
        trials[f"rng.cuda.{index}"] = _cuda_trial(index, tensors)
    for field, trial in trials.items():
        try:
            trial()
        except _RNG_ERRORS as error:
            raise _field_error(
                path, field, f"is not a valid generator state ({type(error).__name__}: {error})"
            ) from error
    return values, tensors


def _cuda_trial(index: int, tensors: dict) -> Callable[[], object]:
    return lambda: torch.Generator(device=f"cuda:{index}").set_state(tensors[f"rng.cuda.{index}"])


def _check_loader_rng(learn: Learner, path: Path, tensors: dict) -> torch.Tensor | None:
    generator = _loader_generator(learn)
    state = tensors.get("rng.train_loader")
    if generator is None or state is None:
        return None
    try:
        torch.Generator(device=generator.device).set_state(state)
    except _RNG_ERRORS as error:
        raise _field_error(
            path,
            "rng.train_loader",
            f"is not a valid generator state ({type(error).__name__}: {error})",
        ) from error
    return state


# ----------------------------------------------------------------------------- applying
def _apply(learn: Learner, checked: _Checked, strict: bool) -> None:
    """Set everything; if a step still fails, put back what was set and re-raise."""
    saved = _snapshot(learn, checked)
    try:
        _set(learn, checked, strict)
    except BaseException:
        _set(learn, saved, strict=True)
        raise
    learn.epochs_done, learn.batches_done = checked.epochs_done, checked.batches_done


def _snapshot(learn: Learner, checked: _Checked) -> _Checked:
    """What `_set(learn, checked)` would overwrite, without copying the model's weights.

    `state_dict()` results stay valid after a later load: loads replace state, never mutate it.
    """
    generator = _loader_generator(learn)
    return _Checked(
        path=checked.path,
        model={},  # set last and checked first: nothing to undo
        opt=_opt(learn).state_dict() if checked.opt is not None else None,
        callbacks={cb.name: cb.state_dict() for cb in learn.cbs if cb.name in checked.callbacks},
        rng=get_rng_state(),
        loader_rng=generator.get_state() if generator is not None else None,
        epochs_done=learn.epochs_done,
        batches_done=learn.batches_done,
    )


def _set(learn: Learner, checked: _Checked, strict: bool) -> None:
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
        _opt(learn).load_state_dict(checked.opt)
    set_rng_state(*checked.rng)
    generator = _loader_generator(learn)
    if generator is not None and checked.loader_rng is not None:
        generator.set_state(checked.loader_rng)
    if checked.model:
        try:  # last, as it has no undo; checked before, so not expected to fail
            _bare_model(learn).load_state_dict(checked.model, strict=strict)
        except RuntimeError as error:
            raise ValueError(f"{checked.path} does not fit this model: {error}") from error
