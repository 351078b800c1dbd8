"""The fast path: one autograd node for a whole sequence, with weight gradients batched over time.

A plain loop over a cell leaves autograd to compute, at every time step, the gradient of each
`nn.Linear` weight from a (batch, in) x (batch, out) product and to add it into `.grad`: many small
matrix products with an inner size of only `batch`, and as many full-size additions. Here the
forward runs the cell step by step as usual, recording each `nn.Linear` call's input and output;
the backward asks autograd for the gradients of the inputs, the states and those outputs only
(autograd then skips every weight gradient), and computes each weight gradient afterwards as one
product over all time steps: grad_weight = (T * batch, out)^T @ (T * batch, in).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.autograd.function import once_differentiable

from lamina.models.recurrent.weight_grads import Workspace, linear_grads

StepFn = Callable[[torch.Tensor, tuple[torch.Tensor, ...]], tuple]


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
    linear_params: list[torch.Tensor]
    other_params: list[torch.Tensor]
    workspace: Workspace


@dataclass
class _Tape:
    """The graph of the forward and the tensors the backward asks autograd about."""

    inputs: tuple[torch.Tensor, tuple[torch.Tensor, ...]] | None = None  # (xs, state) leaves
    outputs: list[torch.Tensor] = field(default_factory=list)  # stacked outs, final state
    calls: list[list[tuple[torch.Tensor, torch.Tensor]]] = field(default_factory=list)


def _record_calls(plan: ScanPlan, tape: _Tape) -> list[torch.utils.hooks.RemovableHandle]:
    """Hook every batched `nn.Linear` so each call's (input, output) lands on the tape."""
    tape.calls = [[] for _ in plan.linears]

    def make_hook(calls: list) -> Callable:
        def hook(module: nn.Module, args: tuple, kwargs: dict, output: torch.Tensor) -> None:
            calls.append((args[0] if args else kwargs["input"], output))

        return hook

    return [
        linear.register_forward_hook(make_hook(calls), with_kwargs=True)
        for linear, calls in zip(plan.linears, tape.calls, strict=True)
    ]


def _run_forward(plan: ScanPlan, xs: torch.Tensor, state: tuple, tape: _Tape) -> None:
    """Run the cell over xs (B, T, F) with autograd on, keeping the whole graph on the tape."""
    xs = xs.detach().requires_grad_(xs.requires_grad)
    state = tuple(s.detach().requires_grad_(s.requires_grad) for s in state)
    tape.inputs = (xs, state)
    handles = _record_calls(plan, tape)
    outs = []
    try:
        with torch.enable_grad():
            for x_t in xs.unbind(1):
                out, state = plan.step(x_t, state)
                outs.append(out)
            tape.outputs = [torch.stack(outs, 1), *state]  # (B, T, H), then the final state
    finally:
        for handle in handles:
            handle.remove()


class _Scan(torch.autograd.Function):
    """(xs, *state, *params) -> (outputs, *final state), with a hand-written backward."""

    @staticmethod
    def forward(ctx, plan: ScanPlan, xs: torch.Tensor, n_state: int, *tensors: torch.Tensor):
        tape = _Tape()
        _run_forward(plan, xs, tensors[:n_state], tape)
        ctx.plan, ctx.tape = plan, tape
        ctx.set_materialize_grads(False)
        return tuple(t.detach() for t in tape.outputs)

    @staticmethod
    @once_differentiable
    def backward(ctx, *grads: torch.Tensor | None):
        plan, tape = ctx.plan, ctx.tape
        ctx.tape = None  # free the graph as soon as this returns
        xs, state = tape.inputs
        given = zip(tape.outputs, grads, strict=True)
        pairs = [(out, g) for out, g in given if g is not None and out.requires_grad]
        wanted = [t for t in (xs, *state) if t.requires_grad]
        calls = [out for linear_calls in tape.calls for _, out in linear_calls]
        found = torch.autograd.grad(
            [out for out, _ in pairs],
            [*wanted, *calls, *plan.other_params],
            [g for _, g in pairs],
            allow_unused=True,
        )
        found_inputs = iter(found[: len(wanted)])
        input_grads = [next(found_inputs) if t.requires_grad else None for t in (xs, *state)]
        call_grads, position = [], len(wanted)
        for linear_calls in tape.calls:
            call_grads.append(found[position : position + len(linear_calls)])
            position += len(linear_calls)
        weight_grads = [
            grad
            for linear, linear_calls, grads in zip(
                plan.linears, tape.calls, call_grads, strict=True
            )
            for grad in linear_grads(linear, [x for x, _ in linear_calls], grads, plan.workspace)
        ]
        return (
            None,
            input_grads[0],
            None,
            *input_grads[1:],
            *weight_grads,
            *found[position:],
        )


def scan(plan: ScanPlan, xs: torch.Tensor, state: tuple[torch.Tensor, ...]) -> tuple:
    """Run `plan.step` over xs (B, T, F) from `state`; returns (outputs (B, T, H), final state)."""
    results = _Scan.apply(plan, xs, len(state), *state, *plan.linear_params, *plan.other_params)
    return results[0], tuple(results[1:])
