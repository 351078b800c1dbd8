"""Piecewise-linear encoding of numbers over quantile bins (Gorishniy et al., 2022, "On
Embeddings for Numerical Features in Tabular Deep Learning").

An MLP fed a standardized number must carve thresholds (a capital gain above 7,000, an age under
25) out of one input with its first layer. Encoding each number as how far it has filled each of
its quantile bins gives the network those thresholds directly: a value in bin `t` reads 1 for
every bin below, its fraction of bin `t`, and 0 above. The first bin extends below its lower edge
and the last above its upper one, so values outside the training range stay ordered.

The bin edges are fitted on the training rows (`quantile_bin_edges`) and kept as plain lists of
floats: they are part of the model's JSON arguments, so an exported learner carries them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn


def quantile_bin_edges(x_cont: torch.Tensor | np.ndarray, n_bins: int) -> list[list[float]]:
    """Edges of up to `n_bins` quantile bins for each column of `x_cont` (n_rows, n_cols).

    Pass the training rows only. A column with at most `n_bins + 1` distinct values gets them as
    its edges (a seen value then fills exactly the bins below it); any other gets its rows'
    quantiles, except that a value holding more than `1 / n_bins` of the rows (the zeros of a
    mostly-zero column) is an edge of its own and the quantiles are those of the other rows. A
    constant column gets one bin of width 1 around its value, so it still passes through.

    Returns:
        One sorted list of at least two edges per column: bin `t` spans `[edges[t], edges[t+1]]`.
    """
    if not isinstance(n_bins, int) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}")
    values = np.asarray(x_cont.detach().cpu() if torch.is_tensor(x_cont) else x_cont, np.float64)
    if values.ndim != 2 or len(values) == 0:
        raise ValueError(f"x_cont must be a non-empty (rows, columns) array, got {values.shape}")
    if not np.isfinite(values).all():
        raise ValueError("x_cont holds NaN or infinite values; fill them before fitting bins")
    edges = []
    for column in values.T:
        cuts = _column_edges(column, n_bins)
        if len(cuts) < 2:
            cuts = np.array([cuts[0] - 0.5, cuts[0] + 0.5])
        edges.append([float(cut) for cut in cuts])
    return edges


def _column_edges(column: np.ndarray, n_bins: int) -> np.ndarray:
    distinct, counts = np.unique(column, return_counts=True)
    if len(distinct) <= n_bins + 1:
        # Each value is an edge, so each seen value reads as its own step (as boosting's bins).
        return distinct
    # A value holding more than a bin's share of the rows (the zeros of a mostly-zero column)
    # is an edge of its own; the other rows' quantiles share the remaining bins, instead of
    # collapsing onto the tied value.
    tied = distinct[counts > len(column) / n_bins]
    rest = column[~np.isin(column, tied)]
    levels = np.linspace(0.0, 1.0, max(n_bins + 1 - len(tied), 2))
    cuts = np.quantile(rest, levels) if len(rest) else np.empty(0)
    return np.unique(np.concatenate([tied, cuts, distinct[[0, -1]]]))


class PiecewiseLinearEncoding(nn.Module):
    """Encodes each number by its fill of that column's bins: (B, n_cols) -> (B, total bins).

    Args:
        bin_edges: for each column, its sorted bin edges (at least two; `quantile_bin_edges`).

    The output concatenates the columns' bins in order; `n_features` is its width. The bins'
    buffers are rebuilt from `bin_edges` (not saved in the state dict: the arguments hold them).
    """

    column: torch.Tensor
    scale: torch.Tensor
    shift: torch.Tensor
    low: torch.Tensor
    high: torch.Tensor

    def __init__(self, bin_edges: Sequence[Sequence[float]]) -> None:
        super().__init__()
        edges = [[float(edge) for edge in column] for column in bin_edges]
        for j, column in enumerate(edges):
            if len(column) < 2 or any(b <= a for a, b in zip(column, column[1:], strict=False)):
                raise ValueError(
                    f"bin_edges[{j}] must be at least two increasing numbers, got {column}"
                )
        # One entry per bin, all columns' bins in a row: bin t of a column reads
        # clamp((x - lower_t) / width_t, low_t, high_t), as x * scale + shift.
        column_of, scale, shift, low, high = [], [], [], [], []
        for j, column in enumerate(edges):
            cuts = np.asarray(column, dtype=np.float64)
            lower, width = cuts[:-1], np.diff(cuts)
            column_of += [j] * len(width)
            scale += (1.0 / width).tolist()
            shift += (-lower / width).tolist()
            # Inner bins clamp to [0, 1]; the first goes on below 0, the last on above 1.
            low += [-math.inf] + [0.0] * (len(width) - 1)
            high += [1.0] * (len(width) - 1) + [math.inf]
        self.bin_edges = edges
        self.n_features = len(column_of)
        self.register_buffer("column", torch.tensor(column_of, dtype=torch.int64), persistent=False)
        for name, values in (("scale", scale), ("shift", shift), ("low", low), ("high", high)):
            self.register_buffer(name, torch.tensor(values, dtype=torch.float32), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fill = torch.addcmul(self.shift, x[:, self.column], self.scale)  # (B, n_features)
        return torch.clamp(fill, self.low, self.high)
