"""Drawing decoded image samples: images, masks overlaid, points as dots, labels as titles.

matplotlib is imported by the caller (figures are built without pyplot's global state); these
functions only draw on the `Axes` they are given.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch

from lamina.data.show import label_text

if TYPE_CHECKING:
    from matplotlib.axes import Axes

_LABEL_KINDS = ("category", "multicategory", "regression")


def image_array(image: torch.Tensor) -> Any:
    """(C, H, W) uint8 or float in [0, 1] -> an (H, W[, C]) NumPy array for imshow."""
    image = image.detach().cpu()
    if image.is_floating_point():
        image = (image.clamp(0, 1) * 255).round()
    image = image.to(torch.uint8)
    if image.ndim == 3:
        image = image[0] if image.shape[0] == 1 else image.permute(1, 2, 0)
    return image.numpy()


def draw_image(ax: Axes, image: torch.Tensor) -> tuple[int, int]:
    """Draw an image tensor on `ax`; returns its (width, height)."""
    array = image_array(image)
    height, width = array.shape[:2]
    ax.imshow(array, cmap="gray" if array.ndim == 2 else None)
    return width, height


def draw_mask(ax: Axes, mask: torch.Tensor) -> None:
    """Overlay a (H, W) mask of class indices, half transparent."""
    array = mask.detach().cpu().numpy()
    ax.imshow(array, cmap="tab20", alpha=0.5, interpolation="nearest", vmin=0, vmax=19)


def draw_points(ax: Axes, points: torch.Tensor, size: tuple[int, int] | None) -> None:
    """Scatter (N, 2) points in [-1, 1] over an image of `size` (width, height) in pixels."""
    points = points.detach().cpu().float()
    if size is not None:
        # [-1, 1] relative coordinates back to pixels for display.
        points = (points + 1) / 2 * torch.tensor(size)
    ax.scatter(points[:, 0], points[:, 1], s=12, c="red", marker="o")


def show_sample(ax: Axes, sample: Sequence[Any], kinds: Sequence[str]) -> None:
    """Draw one decoded sample on `ax`: the image, mask and points, with labels as the title."""
    size = None
    titles = []
    for value, kind in zip(sample, kinds, strict=True):
        if kind == "image":
            size = draw_image(ax, value)
        elif kind == "mask":
            draw_mask(ax, value)
        elif kind == "points":
            draw_points(ax, value, size)
        elif kind in _LABEL_KINDS or isinstance(value, (str, int, list)):
            titles.append(label_text(value))
    if titles:
        ax.set_title(" | ".join(titles), fontsize=9)
    ax.axis("off")
