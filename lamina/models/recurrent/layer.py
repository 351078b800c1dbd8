"""`RecurrentLayer`: runs a recurrent cell written in plain Python over a sequence, fast."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from lamina.models.recurrent.check import find_problem
from lamina.models.recurrent.fused import run_fused
from lamina.models.recurrent.scan import ScanPlan, scan
from lamina.models.recurrent.weight_grads import Workspace

State = torch.Tensor | tuple[torch.Tensor, ...]

# Below this many weight elements in the batched linears, the plain loop ran faster (CPU, batch 64:
# hidden 128 of an LSTM, 65k elements, 9% faster; hidden 512, 1M elements, 10% slower).
MIN_BATCHED_WEIGHTS = 262_144


class RecurrentLayer(nn.Module):
    """Runs `cell` over every time step of a sequence; shapes (B, T, F) -> ((B, T, H), state).

    The cell is an `nn.Module` with `init_state(batch_size, device)` and
    `forward(x_t, state) -> (out_t, state)`, where x_t is (B, F) and the state a tensor or a tuple
    of tensors. When the cell has an `input_proj` (an `nn.Linear`), the layer applies it to the
    whole sequence in one product and the cell receives projected inputs.

    In training, the layer runs the steps inside one autograd node whose backward sums the
    gradient of every other `nn.Linear` weight of the cell in a few large products over chunks of
    time steps, instead of a small product and an addition into `.grad` per step (see
    `lamina.models.recurrent.scan`). It walks the sequence with `unbind`: a loop over `x[:, t]`
    pays a full-size gradient per step in backward (3-4x slower at seq 70). Gradients equal the
    plain loop's up to float rounding. Without grad (inference), or when the cell's linears hold
    fewer than `MIN_BATCHED_WEIGHTS` weights (there the plain loop measured faster), it runs the
    plain loop.

    The first training call watches one step of the cell (drawing no random numbers). When the
    cell does something that would make the batched gradients wrong (uses a linear's weight
    outside its call, changes a linear's input or output in place, returns a state that is not
    tensors), the layer warns once, naming the reason, and runs the plain loop.

    lamina's own `LSTMCell` and `GRUCell`, unchanged (not subclassed, no hooks, on CPU, outside
    autocast), run instead through PyTorch's fused kernels, those of `nn.LSTM` and `nn.GRU`, with
    the cell's weights (see `lamina.models.recurrent.fused`): same results, nn.LSTM's speed.

    Args:
        cell: the recurrent cell.
        fused_kernels: let a recognised cell run through the fused kernels; False always runs the
            cell's Python forward (to debug or profile it, or to time the Python path).

    Example:
        >>> layer = RecurrentLayer(LSTMCell(10, 32))
        >>> out, (h, c) = layer(torch.randn(4, 7, 10))  # out: (4, 7, 32)
        >>> out, state = layer(torch.randn(4, 7, 10), state=(h.detach(), c.detach()))
    """

    def __init__(self, cell: nn.Module, fused_kernels: bool = True) -> None:
        super().__init__()
        if not isinstance(cell, nn.Module):
            raise ValueError(f"cell must be an nn.Module, got {type(cell).__name__}")
        if not callable(getattr(cell, "init_state", None)):
            raise ValueError(
                f"cell must have an init_state(batch_size, device) method; "
                f"{type(cell).__name__} has none"
            )
        input_proj = getattr(cell, "input_proj", None)
        if input_proj is not None and not isinstance(input_proj, nn.Linear):
            raise ValueError(
                f"cell.input_proj must be an nn.Linear, got {type(input_proj).__name__}"
            )
        self.cell = cell
        self.fused_kernels = fused_kernels
        self._problem: str | None = None
        self._checked_linears: list[nn.Linear] | None = None  # the last check's batched layers
        self._warned_no_linear = False
        self._workspace = Workspace()

    def forward(self, x: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        """Outputs (B, T, H) for x (B, T, F) and the final state; starts from `state` if given."""
        if x.dim() != 3:
            raise ValueError(f"x must be (batch, seq, features), got shape {tuple(x.shape)}")
        if state is None:
            state = self.cell.init_state(x.shape[0], x.device)  # type: ignore[operator]
        if self.fused_kernels and x.shape[1] > 0 and not torch.compiler.is_compiling():
            fused = run_fused(self.cell, x, state)
            if fused is not None:
                return fused
        input_proj = getattr(self.cell, "input_proj", None)
        xs = x if input_proj is None else input_proj(x)  # (B, T, F'), one product for all steps
        if x.shape[1] == 0 or not self._wants_fast_path(xs, state):
            return run_eager(self.cell, xs, state)
        single = isinstance(state, torch.Tensor)
        plan = self._plan(single)
        if not plan.linears:  # nothing to batch: the plain loop is as fast
            self._warn_if_no_linear()
            return run_eager(self.cell, xs, state)
        if sum(m.weight.numel() for m in plan.linears) < MIN_BATCHED_WEIGHTS:
            return run_eager(self.cell, xs, state)
        if self._checked_linears != plan.linears:
            self._check(plan, xs, state)
        if self._problem is not None:
            return run_eager(self.cell, xs, state)
        outs, final = scan(plan, xs, (state,) if single else tuple(state))
        return outs, final[0] if single else final

    def _wants_fast_path(self, xs: torch.Tensor, state: Any) -> bool:
        """Whether autograd will need gradients from this call and the fast path can run it."""
        if not torch.is_grad_enabled() or torch.compiler.is_compiling():
            return False
        tensors = [state] if isinstance(state, torch.Tensor) else list(state)
        if not all(isinstance(t, torch.Tensor) for t in tensors):
            return False
        tensors += [xs, *self.cell.parameters()]
        return any(t.requires_grad for t in tensors)

    def _plan(self, single: bool) -> ScanPlan:
        """Sort the cell's trainable parameters into batched linears and the rest.

        Args:
            single: whether the cell's state is one tensor rather than a tuple.
        """
        input_proj = getattr(self.cell, "input_proj", None)
        linears = [
            m
            for m in self.cell.modules()
            if type(m) is nn.Linear
            and m is not input_proj
            and not (m._forward_hooks or m._forward_pre_hooks)  # they may change the output
            and any(p.requires_grad for p in m.parameters())
        ]
        linear_params = [p for m in linears for p in m.parameters() if p.requires_grad]
        batched = {id(p) for p in linear_params}
        # input_proj stays here: autograd gives it None unless the step calls it too
        others = [p for p in self.cell.parameters() if p.requires_grad and id(p) not in batched]
        step = _tuple_step(self.cell, single)
        return ScanPlan(step, linears, linear_params, others, self._workspace)

    def _check(self, plan: ScanPlan, xs: torch.Tensor, state: State) -> None:
        """Watch one step once; warn and remember the reason if the fast path would be wrong."""
        self._checked_linears = plan.linears
        devices = [xs.device] if xs.device.type != "cpu" else []
        with torch.random.fork_rng(devices, device_type=xs.device.type):  # draws no numbers
            self._problem = find_problem(self.cell, plan.linears, xs[:, 0], state)
        if self._problem is not None:
            self._warn(self._problem)

    def _warn_if_no_linear(self) -> None:
        """Say once that a cell without any nn.Linear (frozen ones aside) gains nothing here."""
        input_proj = getattr(self.cell, "input_proj", None)
        linears = [m for m in self.cell.modules() if isinstance(m, nn.Linear)]
        if not self._warned_no_linear and all(m is input_proj for m in linears):
            self._warned_no_linear = True
            self._warn("it has no nn.Linear layer (besides input_proj) to batch over time")

    def _warn(self, reason: str) -> None:
        warnings.warn(
            f"RecurrentLayer runs {type(self.cell).__name__} as a plain step-by-step loop "
            f"(slower) because {reason}.",
            stacklevel=4,
        )


def _tuple_step(cell: nn.Module, single: bool) -> Callable:
    """`cell` as a step on state tuples, the form `scan` expects."""

    def step(x_t: torch.Tensor, state: tuple[torch.Tensor, ...]) -> tuple:
        out, new_state = cell(x_t, state[0] if single else state)
        return out, (new_state,) if single else tuple(new_state)

    return step


def run_eager(cell: nn.Module, xs: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
    """The plain loop: `cell` on each step of xs (B, T, F); returns ((B, T, H), final state)."""
    outs = []
    for x_t in xs.unbind(1):
        out, state = cell(x_t, state)
        outs.append(out)
    if not outs:
        raise ValueError("x must have at least one time step, got seq length 0")
    return torch.stack(outs, 1), state
