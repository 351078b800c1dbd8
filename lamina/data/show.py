"""Plotting decoded samples in a grid, each element drawn by its block.

A block draws its element on the sample's axes (`TransformBlock.show`) or returns text for the
title (labels do). matplotlib is imported inside the functions and figures are built without
pyplot's global state, so a script can make many without leaking them; in Jupyter a returned
figure shows inline.
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


def prepare_notebook_display() -> None:
    """In a Jupyter kernel, load pyplot once so its inline backend displays returned figures."""
    import sys

    shell = sys.modules.get("IPython")
    if shell is not None and getattr(shell, "get_ipython", lambda: None)() is not None:
        import matplotlib.pyplot  # noqa: F401


def show_samples(
    batch: Sequence[Any],
    blocks: Sequence[TransformBlock],
    max_n: int = 9,
    ncols: int = 3,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """A grid of the first `max_n` samples of a decoded batch; returns the matplotlib figure.

    Args:
        batch: one entry per element, each indexable by sample (as `dl.decode` returns).
        blocks: the block of each element, which draws it.
    """
    from matplotlib.figure import Figure

    prepare_notebook_display()
    if not (isinstance(max_n, int) and max_n >= 1):
        raise ValueError(f"max_n must be a positive integer, got {max_n!r}")
    n = min(max_n, len(batch[0]))
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=figsize or (3 * ncols, 3 * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for index, ax in enumerate(axes.flat):
        if index < n:
            show_one(ax, [element[index] for element in batch], blocks)
        else:
            ax.axis("off")
    fig.tight_layout()
    return fig


def frame_figure(frame: Any, max_width: int = 24) -> Figure:
    """A pandas DataFrame drawn as a grid of cells (values cut to `max_width` characters);
    returns the matplotlib figure, so rows show in a notebook like any other batch."""
    from matplotlib.figure import Figure

    prepare_notebook_display()
    cells = [[_cut(value, max_width) for value in row] for row in frame.itertuples(index=False)]
    columns = [_cut(name, max_width) for name in frame.columns]
    fig = Figure(figsize=(max(4.0, 1.3 * len(columns)), 0.35 * (len(cells) + 1) + 0.3))
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
