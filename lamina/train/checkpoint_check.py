"""Checking a checkpoint file against a learner before anything is changed.

`check_checkpoint` reads every field of a file `save_checkpoint` wrote (model tensors, optimizer
state and hyper-parameters, callback states, random-number states, the training position) and
returns them as a `CheckedCheckpoint` only when all of them fit the learner; otherwise it raises
a `ValueError` naming the file and the field. `lamina.train.checkpoint` then applies it.
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

from lamina.core.modules import unwrap_model
from lamina.core.state import join_state
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


def bare_model(learn: Learner) -> torch.nn.Module:
    """The learner's model without torch.compile's or DDP's wrapper."""
    return unwrap_model(learn.model)


def loader_generator(learn: Learner) -> torch.Generator | None:
    """The training loader's random generator, if it has one."""
    generator = getattr(learn.dls.train, "generator", None)
    return generator if isinstance(generator, torch.Generator) else None


def learner_opt(learn: Learner) -> torch.optim.Optimizer:
    """The learner's optimizer, which `Learner.save` and `Learner.load` build first."""
    assert learn.opt is not None, "the learner's optimizer is built before a checkpoint"
    return learn.opt


@dataclass
class CheckedCheckpoint:
    """Everything a checkpoint will set, already checked against the learner."""

    path: Path
    model: dict[str, torch.Tensor]
    opt: dict[str, Any] | None
    callbacks: dict[str, Any]
    rng: tuple[dict[str, Any], dict[str, torch.Tensor]]
    loader_rng: torch.Tensor | None
    epochs_done: int
    batches_done: int


def _field_error(path: Path, field: str, problem: str) -> ValueError:
    return ValueError(f"{path}: field {field!r} {problem}")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_checkpoint(
    learn: Learner, path: Path, tensors: dict, info: dict, with_opt: bool, strict: bool
) -> CheckedCheckpoint:
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
    return CheckedCheckpoint(
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
    expected = bare_model(learn).state_dict()
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
    groups, current = state_dict["param_groups"], learner_opt(learn).state_dict()["param_groups"]
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
    params = [param for group in learner_opt(learn).param_groups for param in group["params"]]
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
    generator = loader_generator(learn)
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
