"""The regularizers of AWD-LSTM (Merity et al., 2017, arXiv:1708.02182).

- `LockedDropout`: one dropout mask per sequence, shared by every time step (variational dropout).
- `DropoutEmbedding`: an embedding whose whole rows (words) are dropped while training.
- `WeightDropLSTM`: a one-layer `nn.LSTM` with DropConnect on its hidden-to-hidden weights.
"""

from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F
from torch import nn

from lamina.models._checks import check_probability

# cuDNN warns on every call whose weights are not one flattened buffer, which a freshly dropped
# weight never is; compacting them is the unavoidable cost of weight dropout, so the warning is
# noise here (and an error under warnings-as-errors).
_CUDNN_COMPACT_WARNING = "RNN module weights are not part of single contiguous chunk of memory"


class LockedDropout(nn.Module):
    """Dropout with one mask per sequence and feature, the same at every time step.

    Shapes: input (batch, seq, features) -> output of the same shape.
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        check_probability("p", p)
        self.p = float(p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        keep = 1 - self.p
        mask = x.new_empty(x.size(0), 1, x.size(2)).bernoulli_(keep) / keep  # (B, 1, C)
        return x * mask

    def extra_repr(self) -> str:
        return f"p={self.p}"


class DropoutEmbedding(nn.Embedding):
    """An `nn.Embedding` that, while training, drops whole rows of its matrix with
    probability `embed_p` (every occurrence of a dropped word reads zeros) and rescales the rest.

    Shapes: input (batch, seq) token ids -> output (batch, seq, embedding_dim).
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        embed_p: float = 0.0,
    ) -> None:
        super().__init__(num_embeddings, embedding_dim, padding_idx=padding_idx)
        check_probability("embed_p", embed_p)
        self.embed_p = float(embed_p)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        weight = self.weight
        if self.training and self.embed_p > 0:
            keep = 1 - self.embed_p
            mask = weight.new_empty(weight.size(0), 1).bernoulli_(keep) / keep  # (V, 1)
            weight = weight * mask
        return F.embedding(tokens, weight, self.padding_idx)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, embed_p={self.embed_p}"


class WeightDropLSTM(nn.Module):
    """A one-layer, batch-first `nn.LSTM` whose hidden-to-hidden weights get DropConnect.

    The trained weight is the parameter `weight_hh_l0_raw` of this module (fastai's name, so
    published weights match); the wrapped `module` holds the other weights. Each forward call
    runs the LSTM op (`torch.lstm`, what `nn.LSTM` itself calls) on a freshly dropped copy
    (training) or on the raw weight itself (eval). The wrapped module is never called, so no
    weight is assigned to it: it keeps no reference to an autograd graph between calls, and
    `torch.export` sees no attribute change while tracing.

    Shapes: input (batch, seq, input_size) and optional state ((1, batch, hidden_size) twice)
    -> (output (batch, seq, hidden_size), (h, c)).
    """

    def __init__(self, input_size: int, hidden_size: int, weight_p: float = 0.0) -> None:
        super().__init__()
        check_probability("weight_p", weight_p)
        self.weight_p = float(weight_p)
        self.module = nn.LSTM(input_size, hidden_size, batch_first=True)
        self.weight_hh_l0_raw = nn.Parameter(
            self.module.get_parameter("weight_hh_l0").detach().clone()
        )
        del self.module.weight_hh_l0
        # nn.LSTM reads its weights from a list kept in step with attribute assignment
        self.module.weight_hh_l0 = None

    def forward(
        self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        lstm = self.module
        weight_hh = F.dropout(self.weight_hh_l0_raw, self.weight_p, self.training)
        weights = [lstm.get_parameter("weight_ih_l0"), weight_hh,
                   lstm.get_parameter("bias_ih_l0"), lstm.get_parameter("bias_hh_l0")]  # fmt: skip
        if state is None:
            zeros = x.new_zeros(1, x.size(0), lstm.hidden_size)  # (1, B, H)
            state = (zeros, zeros)
        with warnings.catch_warnings():
            if x.is_cuda:
                warnings.filterwarnings("ignore", message=_CUDNN_COMPACT_WARNING)
            # the op nn.LSTM runs: has_biases, num_layers, dropout, train, bidirectional,
            # batch_first as it passes them
            output, h, c = torch.lstm(x, state, weights, True, 1, 0.0, self.training, False, True)
        return output, (h, c)

    def extra_repr(self) -> str:
        return f"weight_p={self.weight_p}"
