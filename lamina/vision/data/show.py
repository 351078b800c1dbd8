"""Drawing decoded image samples: images, masks overlaid, points as dots, boxes outlined with
their labels, other labels as titles.

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
    patches: list[Any] | None = None
    titles = []
    for value, kind in zip(sample, kinds, strict=True):
        if kind == "image":
            size = draw_image(ax, value)
        elif kind == "mask":
            draw_mask(ax, value)
        elif kind == "points":
            draw_points(ax, value, size)
        elif kind == "bbox":
            patches = draw_boxes(ax, value, size)
        elif kind == "bbox_label" and patches is not None:
            label_boxes(ax, patches, value)
        elif kind in _LABEL_KINDS or isinstance(value, (str, int, list)):
            titles.append(label_text(value))
    if titles:
        ax.set_title(" | ".join(titles), fontsize=9)
    ax.axis("off")


BOX_COLORS = ("tab:red", "tab:blue", "tab:green", "tab:orange", "tab:purple", "tab:cyan")


def draw_boxes(
    ax: Axes,
    boxes: torch.Tensor,
    size: tuple[int, int] | None,
    labels: Sequence[Any] | None = None,
    color: str | None = None,
) -> list[Any]:
    """Outline (N, 4) boxes (x0, y0, x1, y1) in [-1, 1] over an image of `size` (width, height).

    Boxes with no area (batch padding) are skipped. Each drawn box is a matplotlib `Rectangle`
    patch; `labels` (one per box) are written at their top-left corners (see `label_boxes`).
    Returns one entry per box: its patch, or None where nothing was drawn.
    """
    from matplotlib.patches import Rectangle

    boxes = torch.as_tensor(boxes).detach().cpu().float().reshape(-1, 4)
    if size is not None:
        # [-1, 1] relative coordinates back to pixels for display.
        boxes = (boxes + 1) / 2 * torch.tensor([*size, *size], dtype=torch.float32)
    patches: list[Any] = []
    for index, (x0, y0, x1, y1) in enumerate(boxes.tolist()):
        if x1 <= x0 or y1 <= y0:
            patches.append(None)
            continue
        edge = color or BOX_COLORS[index % len(BOX_COLORS)]
        patch = Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor=edge, linewidth=1.5)
        ax.add_patch(patch)
        patches.append(patch)
    if labels is not None:
        label_boxes(ax, patches, labels)
    return patches


def label_boxes(ax: Axes, patches: Sequence[Any], labels: Sequence[Any]) -> None:
    """Write each box's label at the top-left corner of its patch (from `draw_boxes`) and record
    it as the patch's matplotlib label; padding ("#na#") and undrawn boxes are skipped."""
    from lamina.vision.data.box_geometry import PAD_NAME

    for patch, label in zip(patches, labels, strict=False):
        if patch is None or label == PAD_NAME:
            continue
        text = label_text(label)
        patch.set_label(text)
        x, y = patch.get_xy()
        ax.text(x, y, text, fontsize=7, color="white", va="bottom",
                bbox={"facecolor": patch.get_edgecolor(), "alpha": 0.8, "pad": 1,
                      "linewidth": 0})  # fmt: skip
