"""Checking a file's tensors against the model they are for, before the model is built for real.

An exported file declares its model's sizes in JSON (vocabulary sizes, widths, outputs) and
carries the tensors. The JSON is not trusted: the model is first built on the `meta` device (no
memory, no computation), its state's names, shapes and dtypes are compared with the tensors
actually in the file, and only then is it built for real. So a small file that declares a huge
model fails at once, naming the tensors that do not match, instead of allocating it first.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping

import torch
from torch import nn

_SHOWN = 5


def build_checked(make: Callable[[], nn.Module], tensors: Mapping[str, torch.Tensor]) -> nn.Module:
    """`make()`, built only after a `meta`-device build of it matched `tensors`; then loaded
    with them.

    Raises:
        ValueError: missing, unexpected or mis-shaped tensors, a dtype of another kind (float,
            integer, bool), or NaN/infinite weights; each named.
    """
    try:
        with torch.device("meta"):
            expected = make().state_dict()
    except (NotImplementedError, RuntimeError):  # a model that computes while it is built
        expected = None
    if expected is not None:
        check_tensors(expected, tensors)
    model = make()
    if expected is None:
        check_tensors(model.state_dict(), tensors)
    model.load_state_dict(dict(tensors), strict=True)
    return model


def check_tensors(
    expected: Mapping[str, torch.Tensor], tensors: Mapping[str, torch.Tensor], finite: bool = True
) -> None:
    """Raise a `ValueError` unless `tensors` has exactly `expected`'s names, shapes and dtype
    kinds (and, with `finite`, no NaN or infinite value); warn, naming them, for floating
    tensors of another precision (they are cast)."""
    missing = [key for key in expected if key not in tensors]
    unexpected = [key for key in tensors if key not in expected]
    problems = [f"{len(missing)} missing keys: {_names(missing)}"] if missing else []
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected keys: {_names(unexpected)}")
    cast = []
    for key, target in expected.items():
        value = tensors.get(key)
        if value is None:
            continue
        if tuple(value.shape) != tuple(target.shape):
            problems.append(
                f"shape mismatch: {key}: checkpoint {tuple(value.shape)}, "
                f"model {tuple(target.shape)}"
            )
        elif kind(value) != kind(target):
            problems.append(f"dtype mismatch: {key}: file {value.dtype}, model {target.dtype}")
        elif value.dtype != target.dtype:
            cast.append(f"{key} ({value.dtype} for {target.dtype})")
    if finite and not problems:
        problems += [f"{key} holds NaN or infinite values" for key in non_finite(tensors)]
    if problems:
        raise ValueError("; ".join(problems[: _SHOWN * 2]))
    if cast:
        warnings.warn(
            f"tensors cast to the model's dtype: {', '.join(cast[:_SHOWN])}", stacklevel=3
        )


def non_finite(tensors: Mapping[str, torch.Tensor]) -> list[str]:
    """Names of the floating tensors that hold NaN or infinite values."""
    return [key for key, value in tensors.items()
            if value.is_floating_point() and not bool(torch.isfinite(value).all())]  # fmt: skip


def kind(tensor: torch.Tensor) -> str:
    """ "complex", "float", "bool" or "integer"."""
    if tensor.is_complex():
        return "complex"
    if tensor.is_floating_point():
        return "float"
    return "bool" if tensor.dtype == torch.bool else "integer"


def _names(keys: list[str]) -> str:
    more = f", ... and {len(keys) - _SHOWN} more" if len(keys) > _SHOWN else ""
    return ", ".join(keys[:_SHOWN]) + more
