"""Two recurrent cells written in plain Python, for `RecurrentLayer`: an LSTM and a GRU.

They follow the equations of `nn.LSTM` and `nn.GRU` (gate order i, f, g, o and r, z, n) and
are also templates for cells of one's own.
"""

from __future__ import annotations

import torch
from torch import nn

from lamina.models._checks import check_positive_int


class LSTMCell(nn.Module):
    """An LSTM step; state (h, c), each (B, H); receives x_t already projected, (B, 4H).

    Args:
        n_in: input features per time step.
        n_hidden: hidden size H.
    """

    def __init__(self, n_in: int, n_hidden: int) -> None:
        super().__init__()
        check_positive_int("n_in", n_in)
        check_positive_int("n_hidden", n_hidden)
        self.n_hidden = n_hidden
        self.input_proj = nn.Linear(n_in, 4 * n_hidden)
        self.hidden_proj = nn.Linear(n_hidden, 4 * n_hidden, bias=False)

    def init_state(self, batch_size: int, device: torch.device | str) -> tuple[torch.Tensor, ...]:
        """Zero (h, c), each (batch_size, H)."""
        zeros = torch.zeros(
            batch_size, self.n_hidden, device=device, dtype=self.input_proj.weight.dtype
        )
        return zeros, zeros

    def forward(self, x_t: torch.Tensor, state: tuple[torch.Tensor, ...]) -> tuple:
        """(B, 4H), ((B, H), (B, H)) -> (h, (h, c))."""
        h, c = state
        i, f, g, o = (x_t + self.hidden_proj(h)).chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, (h, c)


class GRUCell(nn.Module):
    """A GRU step; state h (B, H); receives x_t already projected, (B, 3H).

    Args:
        n_in: input features per time step.
        n_hidden: hidden size H.
    """

    def __init__(self, n_in: int, n_hidden: int) -> None:
        super().__init__()
        check_positive_int("n_in", n_in)
        check_positive_int("n_hidden", n_hidden)
        self.n_hidden = n_hidden
        self.input_proj = nn.Linear(n_in, 3 * n_hidden)
        self.hidden_proj = nn.Linear(n_hidden, 3 * n_hidden)

    def init_state(self, batch_size: int, device: torch.device | str) -> torch.Tensor:
        """Zero h, (batch_size, H)."""
        return torch.zeros(
            batch_size, self.n_hidden, device=device, dtype=self.input_proj.weight.dtype
        )

    def forward(self, x_t: torch.Tensor, state: torch.Tensor) -> tuple:
        """(B, 3H), (B, H) -> (h, h)."""
        x_r, x_z, x_n = x_t.chunk(3, dim=1)
        h_r, h_z, h_n = self.hidden_proj(state).chunk(3, dim=1)
        r = torch.sigmoid(x_r + h_r)
        z = torch.sigmoid(x_z + h_z)
        n = torch.tanh(x_n + r * h_n)
        h = (1 - z) * n + z * state
        return h, h
