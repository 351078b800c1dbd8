"""Self-attention over the pixels of a feature map (Zhang et al., 2018, "Self-Attention GANs")."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lamina.models._checks import check_positive_int


class SelfAttention(nn.Module):
    """x + gamma * attention(x) over all H * W positions; gamma starts at 0 (the identity).

    Shapes: (B, C, H, W) -> (B, C, H, W). Queries and keys use C // 8 channels (at least 1).
    Memory grows with (H * W)**2, so use it on coarse feature maps.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        check_positive_int("channels", channels)
        inner = max(1, channels // 8)
        self.query = nn.Conv1d(channels, inner, 1, bias=False)
        self.key = nn.Conv1d(channels, inner, 1, bias=False)
        self.value = nn.Conv1d(channels, channels, 1, bias=False)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.flatten(2)  # (B, C, N)
        query = self.query(flat).transpose(1, 2)  # (B, N, C // 8)
        key = self.key(flat).transpose(1, 2)  # (B, N, C // 8)
        value = self.value(flat).transpose(1, 2)  # (B, N, C)
        out = F.scaled_dot_product_attention(query, key, value)  # (B, N, C)
        return x + self.gamma * out.transpose(1, 2).reshape(x.shape)
