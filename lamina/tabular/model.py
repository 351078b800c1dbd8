"""`TabularModel`: entity embeddings for categories, batch-normalized numbers, and an MLP."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from lamina.core.registry import register
from lamina.models.layers import sigmoid_range
from lamina.tabular.numeric_encoding import PiecewiseLinearEncoding


@register("model", "tabular_mlp")
class TabularModel(nn.Module):
    """An MLP over entity embeddings of categorical columns and continuous columns.

    Shapes: `x_cat` int64 (B, n_cat), `x_cont` float (B, n_cont) -> (B, n_out).
    Each hidden layer is Linear -> ReLU -> BatchNorm1d -> Dropout.

    Args:
        emb_szs: `(vocabulary size, width)` for each categorical column.
        n_cont: number of continuous columns (batch-normalized on the way in).
        n_out: outputs (classes, or regression targets).
        layers: hidden layer widths.
        ps: dropout probability per hidden layer (one number for all; None: no dropout).
        embed_p: dropout on the concatenated embeddings.
        y_range: `(low, high)`: squash outputs into this range with a sigmoid (regression).
        cont_bins: bin edges for each continuous column (`quantile_bin_edges` on the training
            rows): the numbers also enter the MLP piecewise-linearly encoded over these bins
            (`PiecewiseLinearEncoding`). None: standardized numbers only.
    """

    def __init__(
        self,
        emb_szs: Sequence[tuple[int, int]],
        n_cont: int,
        n_out: int,
        layers: Sequence[int] = (200, 100),
        ps: float | Sequence[float] | None = None,
        embed_p: float = 0.0,
        y_range: tuple[float, float] | None = None,
        cont_bins: Sequence[Sequence[float]] | None = None,
    ) -> None:
        super().__init__()
        layers = list(layers)
        ps = [0.0] * len(layers) if ps is None else ps
        ps = [float(ps)] * len(layers) if isinstance(ps, (int, float)) else list(ps)
        _validate(emb_szs, n_cont, n_out, layers, ps, embed_p, y_range)
        if cont_bins is not None and len(cont_bins) != n_cont:
            raise ValueError(
                f"cont_bins must hold one list of edges per continuous column ({n_cont}), "
                f"got {len(cont_bins)}"
            )
        self.embeds = nn.ModuleList(nn.Embedding(n, width) for n, width in emb_szs)
        self.emb_drop = nn.Dropout(embed_p)
        self.bn_cont = nn.BatchNorm1d(n_cont) if n_cont else None
        self.cont_encoding = (
            PiecewiseLinearEncoding(cont_bins) if cont_bins is not None and n_cont else None
        )
        n_in = sum(width for _, width in emb_szs) + n_cont
        if self.cont_encoding is not None:
            n_in += self.cont_encoding.n_features
        blocks: list[nn.Module] = []
        for width, p in zip(layers, ps, strict=True):
            blocks += [nn.Linear(n_in, width), nn.ReLU(inplace=True), nn.BatchNorm1d(width)]
            if p > 0:
                blocks.append(nn.Dropout(p))
            n_in = width
        blocks.append(nn.Linear(n_in, n_out))
        self.layers = nn.Sequential(*blocks)
        self.y_range = None if y_range is None else (float(y_range[0]), float(y_range[1]))

    def forward(self, x_cat: torch.Tensor, x_cont: torch.Tensor) -> torch.Tensor:
        parts = []
        if self.embeds:
            embedded = [embed(x_cat[:, j]) for j, embed in enumerate(self.embeds)]
            parts.append(self.emb_drop(torch.cat(embedded, dim=1)))  # (B, sum of widths)
        if self.bn_cont is not None:
            parts.append(self.bn_cont(x_cont))  # (B, n_cont)
        if self.cont_encoding is not None:
            parts.append(self.cont_encoding(x_cont))  # (B, total bins)
        out = self.layers(torch.cat(parts, dim=1))  # (B, n_out)
        if self.y_range is not None:
            out = sigmoid_range(out, *self.y_range)
        return out


def _validate(
    emb_szs: Sequence[tuple[int, int]],
    n_cont: int,
    n_out: int,
    layers: list[int],
    ps: list[float],
    embed_p: float,
    y_range: tuple[float, float] | None,
) -> None:
    if any(n < 1 or width < 1 for n, width in emb_szs):
        raise ValueError(f"emb_szs must be positive (size, width) pairs, got {list(emb_szs)}")
    if n_cont < 0 or (n_cont == 0 and not emb_szs):
        raise ValueError(f"n_cont must be >= 0 with at least one input column, got {n_cont!r}")
    if n_out < 1:
        raise ValueError(f"n_out must be a positive integer, got {n_out!r}")
    if any(width < 1 for width in layers):
        raise ValueError(f"layers must be positive widths, got {layers}")
    if len(ps) != len(layers) or any(not 0 <= p < 1 for p in ps):
        raise ValueError(f"ps must be one probability in [0, 1) or one per layer, got {ps}")
    if not 0 <= embed_p < 1:
        raise ValueError(f"embed_p must be in [0, 1), got {embed_p!r}")
    if y_range is not None and (len(y_range) != 2 or not y_range[0] < y_range[1]):
        raise ValueError(f"y_range must be (low, high) with low < high, got {y_range!r}")
