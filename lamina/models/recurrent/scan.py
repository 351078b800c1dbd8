"""The fast path: one autograd node for a whole sequence, with weight gradients batched over time.

A plain loop over a cell leaves autograd to compute, at every time step, the gradient of each
`nn.Linear` weight from a (batch, in) x (batch, out) product and to add it into `.grad`. Here the
forward runs the cell step by step as usual, recording each `nn.Linear` call's input and output,
and cuts the sequence into chunks of steps (the state is detached between chunks). The backward
walks the chunks from last to first; for each it asks autograd for the gradients of the chunk's
inputs, its start state and those linear outputs only (autograd then skips every weight
gradient), and adds the chunk's weight gradients as one product:
grad_weight += (steps * batch, out)^T @ (steps * batch, in). Working chunk by chunk keeps the
output gradients waiting for that product few, so their memory is reused while still in cache.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.autograd.function import once_differentiable

from lamina.models.recurrent.weight_grads import LinearGrads, Workspace

StepFn = Callable[[torch.Tensor, tuple[torch.Tensor, ...]], tuple]
CHUNK_ROWS = 1024  # batch * steps per chunk: an inner size where a product runs near full speed


@dataclass
class ScanPlan:
    """What the fast path needs to know about a cell, found once per call.

    Args:
        step: runs one time step: (x_t, state tuple) -> (out_t, state tuple).
        linears: the `nn.Linear` layers whose weight gradients are batched over time.
        linear_params: their trainable weights and biases, in the order the backward returns them.
        other_params: every other trainable parameter of the cell (gradients from autograd).
        workspace: buffers for the weight gradients, kept by the layer between calls.
    """

    step: StepFn
    linears: list[nn.Linear]
    linear_params: list[nn.Parameter]
    other_params: list[nn.Parameter]
    workspace: Workspace


@dataclass
class _Chunk:
    """The graph of some consecutive steps and the tensors the backward asks autograd about."""

    xs: torch.Tensor  # (B, steps, F) leaf
    state: tuple[torch.Tensor, ...]  # start state leaves
    outputs: list[torch.Tensor] = field(default_factory=list)  # (B, steps, H), then end state
    calls: list[list[tuple[torch.Tensor, torch.Tensor]]] = field(default_factory=list)


def _record_calls(linears: list[nn.Linear], calls: list[list]) -> list:
    """Hook each linear so each call's (input, output) lands in `calls[i][-1]`, the open chunk."""

    def make_hook(index: int) -> Callable:
        def hook(module: nn.Module, args: tuple, kwargs: dict, output: torch.Tensor) -> None:
            calls[index].append((args[0] if args else kwargs["input"], output))

        return hook

    return [
        linear.register_forward_hook(make_hook(i), with_kwargs=True)
        for i, linear in enumerate(linears)
    ]


def _run_forward(plan: ScanPlan, xs: torch.Tensor, state: tuple) -> list[_Chunk]:
    """Run the cell over xs (B, T, F) with autograd on, one graph per chunk of steps."""
    steps = max(1, CHUNK_ROWS // xs.shape[0])
    chunks: list[_Chunk] = []
    calls: list[list] = [[] for _ in plan.linears]
    handles = _record_calls(plan.linears, calls)
    try:
        with torch.enable_grad():
            for start in range(0, xs.shape[1], steps):
                chunk_xs = xs[:, start : start + steps].detach().requires_grad_(xs.requires_grad)
                state = tuple(
                    s.detach().requires_grad_(s.requires_grad or start > 0) for s in state
                )
                chunk = _Chunk(chunk_xs, state)
                outs = []
                for x_t in chunk_xs.unbind(1):
                    out, state = plan.step(x_t, state)
                    outs.append(out)
                chunk.outputs = [torch.stack(outs, 1), *state]
                chunk.calls = [list(c) for c in calls]
                for c in calls:
                    c.clear()
                chunks.append(chunk)
    finally:
        for handle in handles:
            handle.remove()
    return chunks


def _chunk_backward(chunk: _Chunk, out_grad, state_grads, others, sums, other_grads) -> tuple:
    """Backward through one chunk; returns (xs grad, start state grads) and adds to the sums."""
    given = zip(chunk.outputs, [out_grad, *state_grads], strict=True)
    pairs = [(out, g) for out, g in given if g is not None and out.requires_grad]
    leaves = [t for t in (chunk.xs, *chunk.state) if t.requires_grad]
    calls = [out for linear_calls in chunk.calls for _, out in linear_calls]
    if not pairs:
        return None, [None] * len(chunk.state)
    found = torch.autograd.grad(
        [out for out, _ in pairs],
        [*leaves, *calls, *others],
        [g for _, g in pairs],
        allow_unused=True,
    )
    leaf_grads = iter(found[: len(leaves)])
    input_grads = [next(leaf_grads) if t.requires_grad else None for t in (chunk.xs, *chunk.state)]
    position = len(leaves)
    for linear_sums, linear_calls in zip(sums, chunk.calls, strict=True):
        grads = found[position : position + len(linear_calls)]
        linear_sums.add([x for x, _ in linear_calls], grads)
        position += len(linear_calls)
    for i, grad in enumerate(found[position:]):
        if grad is not None:
            other_grads[i] = grad if other_grads[i] is None else other_grads[i] + grad
    return input_grads[0], input_grads[1:]


class _Scan(torch.autograd.Function):
    """(xs, *state, *params) -> (outputs, *final state), with a hand-written backward."""

    @staticmethod
    def forward(ctx, plan: ScanPlan, xs: torch.Tensor, n_state: int, *tensors: torch.Tensor):
        chunks = _run_forward(plan, xs, tensors[:n_state])
        ctx.plan, ctx.chunks = plan, chunks
        ctx.set_materialize_grads(False)
        outs = torch.cat([chunk.outputs[0].detach() for chunk in chunks], dim=1)
        return outs, *(s.detach() for s in chunks[-1].outputs[1:])

    @staticmethod
    @once_differentiable
    def backward(ctx, out_grad: torch.Tensor | None, *state_grads: torch.Tensor | None):  # type: ignore[override]
        plan, chunks = ctx.plan, ctx.chunks
        ctx.chunks = None
        sums = [LinearGrads(linear, plan.workspace) for linear in plan.linears]
        other_grads: list[torch.Tensor | None] = [None] * len(plan.other_params)
        xs_grads = []
        end = sum(chunk.xs.shape[1] for chunk in chunks)
        while chunks:
            chunk = chunks.pop()  # frees each chunk's graph once done
            start = end - chunk.xs.shape[1]
            chunk_out_grad = None if out_grad is None else out_grad[:, start:end]
            xs_grad, state_grads = _chunk_backward(
                chunk, chunk_out_grad, state_grads, plan.other_params, sums, other_grads
            )
            if chunk.xs.requires_grad:
                xs_grads.append(torch.zeros_like(chunk.xs) if xs_grad is None else xs_grad)
            end = start
        xs_grad = torch.cat(xs_grads[::-1], dim=1) if xs_grads else None
        weight_grads = [grad for linear_sums in sums for grad in linear_sums.result()]
        return None, xs_grad, None, *state_grads, *weight_grads, *other_grads


def scan(plan: ScanPlan, xs: torch.Tensor, state: tuple[torch.Tensor, ...]) -> tuple:
    """Run `plan.step` over xs (B, T, F) from `state`; returns (outputs (B, T, H), final state)."""
    results = _Scan.apply(plan, xs, len(state), *state, *plan.linear_params, *plan.other_params)
    return results[0], tuple(results[1:])
