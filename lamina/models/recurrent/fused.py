"""lamina's own `LSTMCell` and `GRUCell` run by the fused kernels of `nn.LSTM` and `nn.GRU`.

Their equations are exactly those of `nn.LSTM` and `nn.GRU`, so when a `RecurrentLayer` holds one
of them unchanged, `torch.lstm`/`torch.gru` can run the whole sequence with the cell's own weights:
on CPU the oneDNN kernels, which also use a second thread for the per-step gate arithmetic that a
Python step runs op by op. Outputs and gradients equal the cell's Python loop up to float rounding.

Any change makes the cell "not recognised" and the layer runs its Python forward: a subclass
(it may override forward), a hook on the cell or its linears, autocast (the fused kernels cast
differently), or a device other than the CPU (GPU kernels not measured here).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from lamina.models.recurrent.cells import GRUCell, LSTMCell


def run_fused(cell: nn.Module, x: torch.Tensor, state: object) -> tuple | None:
    """Run `cell` over x (B, T, F) with a fused kernel; None when the cell is not recognised.

    Returns ((B, T, H) outputs, final state in the cell's own form), as the Python loop would.
    """
    if not isinstance(cell, (LSTMCell, GRUCell)):
        return None
    if type(cell) not in (LSTMCell, GRUCell) or not _plain(cell, x):  # subclasses may differ
        return None
    input_proj, hidden_proj = cell.input_proj, cell.hidden_proj
    params = [
        input_proj.weight,
        hidden_proj.weight,
        _bias(input_proj),
        _bias(hidden_proj),
    ]
    if type(cell) is LSTMCell:
        if not (isinstance(state, (tuple, list)) and len(state) == 2):
            return None
        if not _states_fit(state, x, cell.n_hidden):
            return None
        h0, c0 = state
        out, h, c = torch.lstm(
            x, (h0.unsqueeze(0), c0.unsqueeze(0)), params, True, 1, 0.0, cell.training, False, True
        )
        return out, (h[0], c[0])
    if not (isinstance(state, torch.Tensor) and _states_fit([state], x, cell.n_hidden)):
        return None
    out, h = torch.gru(x, state.unsqueeze(0), params, True, 1, 0.0, cell.training, False, True)
    return out, h[0]


def _plain(cell: LSTMCell | GRUCell, x: torch.Tensor) -> bool:
    """Whether nothing about the cell, its linears or x asks for more than the equations."""
    modules: list[nn.Module] = [cell, cell.input_proj, cell.hidden_proj]
    if any(type(m) is not nn.Linear for m in modules[1:]):
        return False
    if any(m._forward_hooks or m._forward_pre_hooks for m in modules):
        return False
    if nn.modules.module._global_forward_hooks or nn.modules.module._global_forward_pre_hooks:
        return False
    if x.device.type != "cpu" or torch.is_autocast_enabled(x.device.type):
        return False
    dtypes = {p.dtype for p in cell.parameters()} | {x.dtype}
    devices = {p.device for p in cell.parameters()}
    return len(dtypes) == 1 and devices == {x.device}


def _states_fit(states: Sequence, x: torch.Tensor, n_hidden: int) -> bool:
    """Whether each state is a (B, H) tensor of x's dtype and device, as the kernels need."""
    return all(
        isinstance(s, torch.Tensor)
        and s.shape == (x.shape[0], n_hidden)
        and s.dtype == x.dtype
        and s.device == x.device
        for s in states
    )


def _bias(linear: nn.Linear) -> torch.Tensor:
    """The linear's bias, or constant zeros where it has none (the kernels take four tensors)."""
    if linear.bias is not None:
        return linear.bias
    return linear.weight.new_zeros(linear.out_features)
