"""Finds what would make the fast path wrong for a cell, by watching one step run.

The fast path computes the gradient of each `nn.Linear` weight from the layer's own calls only, so
it must know that the cell touches those weights nowhere else (say `self.proj.weight.t()`), and
that it never changes a linear's input or output in place after the call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode


class _WatchWeights(TorchFunctionMode):
    """Notes any use of watched parameters outside the `F.linear` call of their own layer."""

    def __init__(self, owners: dict[int, nn.Linear]) -> None:
        super().__init__()
        self.owners = owners
        self.active: list[nn.Module] = []
        self.misuse: str | None = None

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        result = func(*args, **kwargs)
        inside_own_call = func is F.linear and self.active and len(args) > 1
        if inside_own_call and self.owners.get(id(args[1])) is self.active[-1]:
            return result
        used = [a for a in (*args, *kwargs.values()) if id(a) in self.owners]
        if used and isinstance(result, torch.Tensor) and self.misuse is None:
            self.misuse = getattr(func, "__name__", str(func))
        return result


def find_problem(
    cell: Callable, linears: list[nn.Linear], x_t: torch.Tensor, state: object
) -> str | None:
    """Run `cell(x_t, state)` once; say why the fast path would be wrong for it, or None if fine."""
    owners = {id(p): m for m in linears for p in m.parameters(recurse=False)}
    watch = _WatchWeights(owners)
    calls: list[tuple[torch.Tensor, int, torch.Tensor, int]] = []

    def enter(module: nn.Module, args: tuple) -> None:
        watch.active.append(module)

    def leave(module: nn.Module, args: tuple, kwargs: dict, output: torch.Tensor) -> None:
        watch.active.pop()
        given = args[0] if args else kwargs["input"]
        calls.append((given, given._version, output, output._version))

    handles = [m.register_forward_pre_hook(enter) for m in linears]
    handles += [m.register_forward_hook(leave, with_kwargs=True) for m in linears]
    try:
        with watch, torch.no_grad():
            result = cell(x_t, state)
    finally:
        for handle in handles:
            handle.remove()
    if watch.misuse is not None:
        return f"it uses an nn.Linear's weight or bias outside that layer's call ({watch.misuse})"
    if any(i._version != iv or o._version != ov for i, iv, o, ov in calls):
        return "it changes the input or output of an nn.Linear in place"
    return _check_result(result, state)


def _check_result(result: object, state: Any) -> str | None:
    """Why a step's result is not (out tensor, state like the one given), or None when it is."""
    if not (isinstance(result, tuple) and len(result) == 2):
        return f"its forward returned {type(result).__name__}, not a pair (out_t, state)"
    out, new_state = result
    if not isinstance(out, torch.Tensor):
        return f"its output is a {type(out).__name__}, not a tensor"
    if isinstance(state, torch.Tensor):
        return None if isinstance(new_state, torch.Tensor) else "its state changed type"
    if not isinstance(new_state, (tuple, list)) or len(new_state) != len(state):
        return "its new state is not a tuple of tensors like the state it was given"
    if not all(isinstance(s, torch.Tensor) for s in new_state):
        return "its new state is not a tuple of tensors"
    return None
