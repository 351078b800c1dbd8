"""Plotting decoded samples: images, masks overlaid, points as dots, labels as titles.

matplotlib is imported inside the functions. Figures are built without pyplot's global state, so
a script can make many without leaking them; in Jupyter a returned figure shows inline.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

_LABEL_KINDS = ("category", "multicategory", "regression")


def _image_array(image: torch.Tensor) -> Any:
    """(C, H, W) uint8 or float in [0, 1] -> an (H, W[, C]) NumPy array for imshow."""
    image = image.detach().cpu()
    if image.is_floating_point():
        image = (image.clamp(0, 1) * 255).round()
    image = image.to(torch.uint8)
    if image.ndim == 3:
        image = image[0] if image.shape[0] == 1 else image.permute(1, 2, 0)
    return image.numpy()


def _label_text(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        values = value.detach().cpu().flatten().tolist()
        return ", ".join(f"{v:.3g}" for v in values[:4]) + (", ..." if len(values) > 4 else "")
    if isinstance(value, (list, tuple)):
        return ";".join(str(v) for v in value)
    return str(value)


def show_sample(ax: Axes, sample: Sequence[Any], kinds: Sequence[str]) -> None:
    """Draw one decoded sample on `ax`: the image, mask and points, with labels as the title."""
    height = width = None
    titles = []
    for value, kind in zip(sample, kinds, strict=True):
        if kind == "image":
            array = _image_array(value)
            height, width = array.shape[:2]
            ax.imshow(array, cmap="gray" if array.ndim == 2 else None)
        elif kind == "mask":
            mask = value.detach().cpu().numpy()
            ax.imshow(mask, cmap="tab20", alpha=0.5, interpolation="nearest", vmin=0, vmax=19)
        elif kind == "points":
            points = value.detach().cpu().float()
            if width is not None:
                # [-1, 1] relative coordinates back to pixels for display.
                points = (points + 1) / 2 * torch.tensor([width, height])
            ax.scatter(points[:, 0], points[:, 1], s=12, c="red", marker="o")
        elif kind in _LABEL_KINDS or isinstance(value, (str, int, list)):
            titles.append(_label_text(value))
    if titles:
        ax.set_title(" | ".join(titles), fontsize=9)
    ax.axis("off")


def _prepare_notebook_display() -> None:
    """In a Jupyter kernel, load pyplot once so its inline backend displays returned figures."""
    import sys

    shell = sys.modules.get("IPython")
    if shell is not None and getattr(shell, "get_ipython", lambda: None)() is not None:
        import matplotlib.pyplot  # noqa: F401


def show_samples(
    batch: Sequence[Any],
    kinds: Sequence[str],
    max_n: int = 9,
    ncols: int = 3,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """A grid of the first `max_n` samples of a decoded batch; returns the matplotlib figure.

    Args:
        batch: one entry per element (image tensors (B, C, H, W), masks (B, H, W), points
            (B, N, 2) in [-1, 1], and label lists or tensors), as `dl.decode` returns.
        kinds: the kind of each element.
    """
    from matplotlib.figure import Figure

    _prepare_notebook_display()
    if not (isinstance(max_n, int) and max_n >= 1):
        raise ValueError(f"max_n must be a positive integer, got {max_n!r}")
    if "image" not in kinds:
        raise ValueError(f"show_samples draws images; these samples have kinds {tuple(kinds)}")
    n = min(max_n, len(batch[0]))
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=figsize or (3 * ncols, 3 * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for index, ax in enumerate(axes.flat):
        if index < n:
            show_sample(ax, [element[index] for element in batch], kinds)
        else:
            ax.axis("off")
    fig.tight_layout()
    return fig
