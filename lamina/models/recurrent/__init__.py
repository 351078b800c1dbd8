"""Recurrent cells written in plain Python, run fast over sequences: `RecurrentLayer`.

Write a cell as a small `nn.Module` with `init_state(batch_size, device)` and
`forward(x_t, state) -> (out_t, state)`; give it an `input_proj` (an `nn.Linear`) to have the
input projection of every time step done in one product:

    class MyLSTMCell(nn.Module):
        def __init__(self, n_in, n_hidden):
            super().__init__()
            self.n_hidden = n_hidden
            self.input_proj = nn.Linear(n_in, 4 * n_hidden)
            self.hidden_proj = nn.Linear(n_hidden, 4 * n_hidden, bias=False)

        def init_state(self, batch_size, device):
            zeros = torch.zeros(batch_size, self.n_hidden, device=device)
            return zeros, zeros

        def forward(self, x_t, state):  # x_t is already input_proj(x)[:, t]
            h, c = state
            i, f, g, o = (x_t + self.hidden_proj(h)).chunk(4, dim=1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            return h, (h, c)

    layer = RecurrentLayer(MyLSTMCell(64, 256))
    out, state = layer(x)                                    # x: (B, T, 64) -> out: (B, T, 256)
    out, state = layer(x_next, state=tuple(s.detach() for s in state))  # carry across BPTT windows

`LSTMCell` and `GRUCell` here are such cells, ready made. Used unchanged, the layer recognises
them and runs PyTorch's fused `nn.LSTM`/`nn.GRU` kernels with their weights instead of their
Python step (`RecurrentLayer(cell, fused_kernels=False)` keeps the Python step).
"""

from lamina.models.recurrent.cells import GRUCell, LSTMCell
from lamina.models.recurrent.layer import RecurrentLayer, run_eager

__all__ = ["GRUCell", "LSTMCell", "RecurrentLayer", "run_eager"]
