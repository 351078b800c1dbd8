"""Collaborative-filtering models over (user, item) index pairs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from lamina.core.registry import register
from lamina.models.layers import sigmoid_range


def _check_range(y_range: Sequence[float] | None) -> tuple[float, float] | None:
    if y_range is None:
        return None
    if len(y_range) != 2 or not y_range[0] < y_range[1]:
        raise ValueError(f"y_range must be (low, high) with low < high, got {y_range!r}")
    return float(y_range[0]), float(y_range[1])


def _check_positive(**values: int) -> None:
    for name, value in values.items():
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


# fastai's EmbeddingDotBias names (attributes and analysis methods), and lamina's way to each.
_FASTAI_ATTRIBUTES = {
    "u_weight": "model.user_weight",
    "i_weight": "model.item_weight",
    "u_bias": "model.user_bias",
    "i_bias": "model.item_bias",
    "bias": "learn.bias(items, is_item=True) on the CollabLearner (users: is_item=False)",
    "weight": "learn.weight(items, is_item=True) on the CollabLearner (users: is_item=False)",
}


class _FastaiHints(nn.Module):
    """Reading one of fastai's attribute names raises an AttributeError that names lamina's."""

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            hint = _FASTAI_ATTRIBUTES.get(name)
            if hint is None:
                raise
            raise AttributeError(
                f"{type(self).__name__} has no attribute {name!r} (fastai's EmbeddingDotBias "
                f"has): use {hint}"
            ) from None


@register("model", "collab_dot")
class EmbeddingDotBias(_FastaiHints):
    """Rating = user factors . item factors + user bias + item bias, squashed into `y_range`.

    Shapes: `x` int64 (B, 2) of (user index, item index) -> (B,).
    """

    def __init__(
        self,
        n_users: int,
        n_items: int,
        n_factors: int = 50,
        y_range: Sequence[float] | None = (0.0, 5.5),
    ) -> None:
        super().__init__()
        _check_positive(n_users=n_users, n_items=n_items, n_factors=n_factors)
        self.y_range = _check_range(y_range)
        self.user_weight = nn.Embedding(n_users, n_factors)
        self.item_weight = nn.Embedding(n_items, n_factors)
        self.user_bias = nn.Embedding(n_users, 1)
        self.item_bias = nn.Embedding(n_items, 1)
        # Small factors start every prediction near the middle of the range.
        for embedding in (self.user_weight, self.item_weight, self.user_bias, self.item_bias):
            nn.init.trunc_normal_(embedding.weight, std=0.01, a=-0.02, b=0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        users, items = x[:, 0], x[:, 1]
        dot = (self.user_weight(users) * self.item_weight(items)).sum(dim=1)  # (B,)
        out = dot + self.user_bias(users).squeeze(1) + self.item_bias(items).squeeze(1)
        return out if self.y_range is None else sigmoid_range(out, *self.y_range)


@register("model", "collab_nn")
class EmbeddingNN(_FastaiHints):
    """An MLP over concatenated user and item embeddings, squashed into `y_range`.

    Shapes: `x` int64 (B, 2) of (user index, item index) -> (B,). Each hidden layer is
    Linear -> ReLU -> BatchNorm1d -> Dropout.
    """

    def __init__(
        self,
        n_users: int,
        n_items: int,
        user_sz: int,
        item_sz: int,
        layers: Sequence[int] = (100,),
        ps: float = 0.0,
        y_range: Sequence[float] | None = (0.0, 5.5),
    ) -> None:
        super().__init__()
        _check_positive(n_users=n_users, n_items=n_items, user_sz=user_sz, item_sz=item_sz)
        if not layers or any(not isinstance(w, int) or w < 1 for w in layers):
            raise ValueError(f"layers must be one or more positive widths, got {layers!r}")
        if not 0 <= ps < 1:
            raise ValueError(f"ps must be in [0, 1), got {ps!r}")
        self.y_range = _check_range(y_range)
        self.user_weight = nn.Embedding(n_users, user_sz)
        self.item_weight = nn.Embedding(n_items, item_sz)
        blocks: list[nn.Module] = []
        n_in = user_sz + item_sz
        for width in layers:
            blocks += [nn.Linear(n_in, width), nn.ReLU(inplace=True), nn.BatchNorm1d(width)]
            if ps > 0:
                blocks.append(nn.Dropout(ps))
            n_in = width
        blocks.append(nn.Linear(n_in, 1))
        self.layers = nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        embedded = torch.cat([self.user_weight(x[:, 0]), self.item_weight(x[:, 1])], dim=1)
        out = self.layers(embedded).squeeze(1)  # (B,)
        return out if self.y_range is None else sigmoid_range(out, *self.y_range)
