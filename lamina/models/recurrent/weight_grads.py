"""Gradients of an `nn.Linear` weight and bias from all its calls over a sequence at once.

For calls with inputs x_t (B, in) and output gradients g_t (B, out), the weight gradient is
sum_t g_t^T x_t = G^T X with G, X the calls stacked: (T * B, out) and (T * B, in). The calls are
stacked in chunks of about `CHUNK_ROWS` rows into buffers kept between calls (`Workspace`):
on CPU, a fresh large tensor costs a page fault per 4 KiB on first touch, as much as the copy.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

CHUNK_ROWS = 1024  # an inner size where one product runs near full speed


class Workspace:
    """Buffers reused from one backward to the next, one per (role, dtype, device)."""

    def __init__(self) -> None:
        self.buffers: dict[tuple, torch.Tensor] = {}

    def stack(self, role: str, tensors: Sequence[torch.Tensor]) -> torch.Tensor:
        """`torch.cat(tensors)` of 2-D tensors, written into a kept buffer."""
        rows = sum(t.shape[0] for t in tensors)
        first = tensors[0]
        key = (role, first.shape[1], first.dtype, first.device)
        buffer = self.buffers.get(key)
        if buffer is None or buffer.shape[0] < rows:
            buffer = self.buffers[key] = first.new_empty(rows, first.shape[1])
        return torch.cat(tensors, out=buffer[:rows])


def linear_grads(
    linear: nn.Linear,
    inputs: Sequence[torch.Tensor],
    output_grads: Sequence[torch.Tensor | None],
    workspace: Workspace,
) -> list[torch.Tensor]:
    """[weight grad, bias grad] of `linear`, each only if it requires grad, from all its calls.

    Args:
        inputs: what each call received, (..., in).
        output_grads: the gradient of each call's output, (..., out); None where it had none.
    """
    rows_per_call = max(1, inputs[0].numel() // inputs[0].shape[-1])
    per_chunk = max(1, CHUNK_ROWS // rows_per_call)
    weight_grad, bias_grad = None, None
    for start in range(0, len(inputs), per_chunk):
        grads, given = [], []
        for x, g in zip(inputs[start : start + per_chunk], output_grads[start:], strict=False):
            g = (
                torch.zeros(x.shape[:-1] + (linear.out_features,), dtype=x.dtype)
                if g is None
                else g
            )
            grads.append(g.reshape(-1, g.shape[-1]))
            given.append(x.reshape(-1, x.shape[-1]).to(g.dtype))
        grad_out = workspace.stack("output grads", grads)  # (rows, out)
        if linear.weight.requires_grad:
            x = workspace.stack("inputs", given)  # (rows, in)
            weight_grad = _add_product(weight_grad, grad_out.t(), x)
        if linear.bias is not None and linear.bias.requires_grad:
            chunk_sum = grad_out.sum(0)
            bias_grad = chunk_sum if bias_grad is None else bias_grad.add_(chunk_sum)
    found = []
    if weight_grad is not None:
        found.append(weight_grad.to(linear.weight.dtype))
    if bias_grad is not None:
        found.append(bias_grad.to(linear.bias.dtype))
    return found


def _add_product(total: torch.Tensor | None, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """total + a @ b, in place when there is a total already."""
    return a @ b if total is None else total.addmm_(a, b)
