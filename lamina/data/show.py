"""Plotting decoded samples in a grid, each element drawn by its block.

A block draws its element on the sample's axes (`TransformBlock.show`) or returns text for the
title (labels do). matplotlib is imported inside the functions and figures are built without
pyplot's global state (`lamina.core.figures`), so a script can make many without leaking them;
in Jupyter each figure shows once. Which items are shown is drawn across the set, seeded
(`sample_indices`), so panels are not all the first class of a sorted validation set.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from lamina.data.blocks import TransformBlock


def label_text(value: Any) -> str:
    """A short text for a label: numbers to 3 digits (four at most), lists joined by ';'."""
    if isinstance(value, torch.Tensor):
        values = value.detach().cpu().flatten().tolist()
        return ", ".join(f"{v:.3g}" for v in values[:4]) + (", ..." if len(values) > 4 else "")
    if isinstance(value, (list, tuple)):
        return ";".join(str(v) for v in value)
    return str(value)


def show_one(ax: Axes, sample: Sequence[Any], blocks: Sequence[TransformBlock]) -> None:
    """Draw one decoded sample on `ax`: each block draws its element or adds to the title."""
    context: dict[str, Any] = {}
    titles = [block.show(ax, value, context) for value, block in zip(sample, blocks, strict=True)]
    text = [title for title in titles if title]
    if text:
        ax.set_title(" | ".join(text), fontsize=9)
    ax.axis("off")


def sample_indices(n_items: int, max_n: int, shuffle: bool = True, seed: int = 0) -> list[int]:
    """Which of `n_items` items to show: `max_n` drawn across the set (seeded, so the same
    `seed` gives the same items) or, without `shuffle`, the first `max_n` in stored order."""
    if not (isinstance(max_n, int) and max_n >= 1):
        raise ValueError(f"max_n must be a positive integer, got {max_n!r}")
    if n_items < 1:
        raise ValueError("there are no items to show: the data set is empty")
    if not shuffle:
        return list(range(min(max_n, n_items)))
    generator = torch.Generator().manual_seed(seed)
    return torch.randperm(n_items, generator=generator)[:max_n].tolist()


def sampled_rows(
    dls: Any, max_n: int, ds_idx: int = 0, shuffle: bool = True, seed: int = 0
) -> tuple[torch.Tensor, ...]:
    """Rows of the training (`ds_idx` 0) or validation (1) loader of `dls`: `max_n` drawn
    across the set with `seed` when `shuffle` and the loader holds its tensors (`tensors`,
    as `TensorBatches` do), else its first batch."""
    from lamina.data.loaders import loader_at

    loader = loader_at(dls, ds_idx)
    tensors = getattr(loader, "tensors", None)
    if not shuffle or not tensors:
        return tuple(dls.one_batch(ds_idx))
    index = torch.tensor(sample_indices(len(tensors[0]), max_n, True, seed))
    return tuple(t[index.to(t.device)] for t in tensors)


def grid_shape(n: int, ncols: int = 3, nrows: int | None = None) -> tuple[int, int]:
    """Rows and columns of a grid for `n` panels: `ncols` per row, or `nrows` rows when given."""
    if nrows is not None:
        if not (isinstance(nrows, int) and nrows >= 1):
            raise ValueError(f"nrows must be a positive integer, got {nrows!r}")
        nrows = min(nrows, n)
        return nrows, math.ceil(n / nrows)
    if not (isinstance(ncols, int) and ncols >= 1):
        raise ValueError(f"ncols must be a positive integer, got {ncols!r}")
    ncols = min(ncols, n)
    return math.ceil(n / ncols), ncols


def show_samples(
    batch: Sequence[Any],
    blocks: Sequence[TransformBlock],
    max_n: int = 9,
    ncols: int = 3,
    figsize: tuple[float, float] | None = None,
    nrows: int | None = None,
) -> Figure:
    """A grid of the first `max_n` samples of a decoded batch; returns the matplotlib figure
    (shown once in Jupyter, `fig.savefig(path)` in a script).

    Args:
        batch: one entry per element, each indexable by sample (as `dl.decode` returns).
        blocks: the block of each element, which draws it.
        ncols, nrows: panels per row, or rows (then the columns follow).
        figsize: width and height in inches (default: 3 per panel).
    """
    from lamina.core.figures import new_figure

    if not (isinstance(max_n, int) and max_n >= 1):
        raise ValueError(f"max_n must be a positive integer, got {max_n!r}")
    n = min(max_n, len(batch[0]))
    nrows, ncols = grid_shape(n, ncols, nrows)
    fig = new_figure(figsize=figsize or (3 * ncols, 3 * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for index, ax in enumerate(axes.flat):
        if index < n:
            show_one(ax, [element[index] for element in batch], blocks)
        else:
            ax.axis("off")
    fig.tight_layout()
    return fig


def frame_figure(
    frame: Any, max_width: int = 24, figsize: tuple[float, float] | None = None
) -> Figure:
    """A pandas DataFrame drawn as a grid of cells (values cut to `max_width` characters);
    returns the matplotlib figure, so rows show in a notebook (once) like any other batch."""
    from lamina.core.figures import new_figure

    cells = [[_cut(value, max_width) for value in row] for row in frame.itertuples(index=False)]
    columns = [_cut(name, max_width) for name in frame.columns]
    size = (max(4.0, 1.3 * len(columns)), 0.35 * (len(cells) + 1) + 0.3)
    fig = new_figure(figsize=figsize or size)
    ax = fig.subplots()
    ax.axis("off")
    grid = ax.table(cellText=cells or None, colLabels=columns, loc="center", cellLoc="left")
    grid.auto_set_font_size(False)
    grid.set_fontsize(9)
    fig.tight_layout()
    return fig


def _cut(value: Any, width: int) -> str:
    text = f"{value:.4g}" if isinstance(value, float) else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


class TableShowBatch:
    """`show_batch` for loaders whose samples read best as table rows: draws `batch_frame`.

    The class mixing it in provides `batch_frame(max_n, ds_idx, shuffle, seed)`.
    """

    def batch_frame(self, max_n: int, ds_idx: int, shuffle: bool, seed: int) -> Any:
        """Decoded rows as a DataFrame (provided by the loaders class)."""
        raise NotImplementedError

    def show_batch(
        self,
        max_n: int = 10,
        ncols: int = 3,
        ds_idx: int = 0,
        shuffle: bool = True,
        seed: int = 0,
        figsize: tuple[float, float] | None = None,
        nrows: int | None = None,
    ) -> Figure:
        """`max_n` decoded rows drawn across the set with `seed` (`shuffle=False`: one batch)
        as a table; returns the matplotlib figure, shown once in Jupyter (the rows themselves:
        `batch_frame`). `ncols`/`nrows` are accepted for the common signature and unused."""
        return frame_figure(self.batch_frame(max_n, ds_idx, shuffle, seed), figsize=figsize)
