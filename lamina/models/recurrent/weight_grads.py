"""Gradients of an `nn.Linear` weight and bias from many of its calls at once.

For calls with inputs x_t (B, in) and output gradients g_t (B, out), the weight gradient is
sum_t g_t^T x_t = G^T X with G, X the calls stacked: (T * B, out) and (T * B, in). A plain loop
instead runs T products with an inner size of only B and adds each into `.grad`. The calls are
stacked into buffers kept between calls (`Workspace`): on CPU, a fresh large tensor costs a page
fault per 4 KiB on first touch, as much as the copy itself.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class Workspace:
    """Buffers reused from one backward to the next, one per (role, width, dtype, device).

    Not for two backward passes of one layer running at once in different threads.
    """

    def __init__(self) -> None:
        self.buffers: dict[tuple, torch.Tensor] = {}

    def stack(self, role: str, tensors: list[torch.Tensor]) -> torch.Tensor:
        """`torch.cat(tensors)` of 2-D tensors, written into a kept buffer."""
        rows = sum(t.shape[0] for t in tensors)
        first = tensors[0]
        key = (role, first.shape[1], first.dtype, first.device)
        buffer = self.buffers.get(key)
        if buffer is None or buffer.shape[0] < rows:
            buffer = self.buffers[key] = first.new_empty(rows, first.shape[1])
        return torch.cat(tensors, out=buffer[:rows])


class LinearGrads:
    """Sums the weight and bias gradients of one `nn.Linear` over groups of its calls."""

    def __init__(self, linear: nn.Linear, workspace: Workspace) -> None:
        self.linear = linear
        self.workspace = workspace
        self.weight: torch.Tensor | None = None
        self.bias: torch.Tensor | None = None

    def add(self, inputs: Sequence[torch.Tensor], grads: Sequence[torch.Tensor | None]) -> None:
        """Add the calls with these inputs (..., in) and output gradients (..., out; or None)."""
        flat_grads, flat_inputs = [], []
        for x, g in zip(inputs, grads, strict=True):
            if g is not None:
                flat_grads.append(g.reshape(-1, g.shape[-1]))
                flat_inputs.append(x.reshape(-1, x.shape[-1]).to(g.dtype))
        if not flat_grads:
            return
        grad_out = self.workspace.stack("output grads", flat_grads)  # (rows, out)
        if self.linear.weight.requires_grad:
            x = self.workspace.stack("inputs", flat_inputs)  # (rows, in)
            if self.weight is None:
                self.weight = grad_out.t() @ x
            else:
                self.weight.addmm_(grad_out.t(), x)
        if self.linear.bias is not None and self.linear.bias.requires_grad:
            total = grad_out.sum(0)
            self.bias = total if self.bias is None else self.bias.add_(total)

    def result(self) -> list[torch.Tensor | None]:
        """[weight grad, bias grad], each where it requires grad; None where no call had one."""
        found = []
        if self.linear.weight.requires_grad:
            found.append(_cast(self.weight, self.linear.weight.dtype))
        if self.linear.bias is not None and self.linear.bias.requires_grad:
            found.append(_cast(self.bias, self.linear.bias.dtype))
        return found


def _cast(grad: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor | None:
    return None if grad is None else grad.to(dtype)
