"""Bounding-box geometry shared by the item and batch transforms: move, enclose, clip, drop.

A box is `(x0, y0, x1, y1)`, its left, top, right and bottom edges, in the same coordinates as
points: pixels of the item's image in the item stage (see `lamina.vision.transforms.resize`),
[-1, 1] of the batch's images after `ToTensor`. A transform moves a box by moving its four
corners as points and taking their axis-aligned enclosing box, so a rotated box becomes the
smallest upright box around the rotated one (and a perspective warp, which keeps lines straight,
the box around the warped quadrilateral). Boxes are then clipped to the image.

Boxes that end up with no area (wholly outside the image, or clipped to a line) are removed with
their labels in the item stage (`drop_empty_boxes`), where each item holds its own number of
boxes; in the batch stage, where boxes are padded to a common count, they become padding: the
box is zeroed and its label set to `PAD_LABEL`.

Padding that reflects or repeats the image's edge (`pad_mode="reflection"` or "border") can show
copies of an object near the edge; those copies get no box. Use `pad_mode="zeros"` where that
matters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from lamina.data.transform import Kinds

BOX_KIND = "bbox"
BOX_LABEL_KIND = "bbox_label"
PAD_LABEL = 0  # the label index of padding (and background): "#na#" in the vocab
PAD_NAME = "#na#"


def box_corners(boxes: torch.Tensor) -> torch.Tensor:
    """Boxes `(..., N, 4)` -> their corners `(..., 4 * N, 2)` as (x, y) points, four per box."""
    x0, y0, x1, y1 = boxes.unbind(-1)
    corners = torch.stack(
        [torch.stack(pair, dim=-1) for pair in ((x0, y0), (x1, y0), (x0, y1), (x1, y1))], dim=-2
    )  # (..., N, 4, 2)
    return corners.flatten(-3, -2)


def enclosing_boxes(corners: torch.Tensor) -> torch.Tensor:
    """Corners `(..., 4 * N, 2)` (from `box_corners`, moved) -> the upright boxes `(..., N, 4)`
    enclosing each group of four."""
    grouped = corners.unflatten(-2, (-1, 4))  # (..., N, 4, 2)
    return torch.cat([grouped.amin(dim=-2), grouped.amax(dim=-2)], dim=-1)


def move_boxes(
    boxes: torch.Tensor, move_points: Callable[[torch.Tensor], torch.Tensor]
) -> torch.Tensor:
    """Boxes `(..., N, 4)` moved by a function on points `(..., M, 2)`: the upright box around
    each box's moved corners."""
    if boxes.shape[-2] == 0:
        return boxes
    return enclosing_boxes(move_points(box_corners(boxes)))


def clip_boxes(
    boxes: torch.Tensor, low: tuple[float, float], high: tuple[float, float]
) -> torch.Tensor:
    """Boxes `(..., 4)` clipped to the rectangle from `low` (x, y) to `high` (x, y)."""
    lows = torch.tensor([*low, *low], dtype=boxes.dtype, device=boxes.device)
    highs = torch.tensor([*high, *high], dtype=boxes.dtype, device=boxes.device)
    return torch.minimum(torch.maximum(boxes, lows), highs)


def empty_boxes(boxes: torch.Tensor) -> torch.Tensor:
    """`(..., N)` flags of the boxes with no area (right edge not past the left, or bottom not
    below the top)."""
    return (boxes[..., 2] <= boxes[..., 0]) | (boxes[..., 3] <= boxes[..., 1])


def as_box_tensor(x: Any) -> torch.Tensor:
    """`x` as a float tensor of boxes, `(N, 4)` for one item or `(B, N, 4)` for a batch."""
    boxes = torch.as_tensor(x)
    return boxes if boxes.is_floating_point() else boxes.float()


def _label_index(kinds: Kinds, box_index: int) -> int | None:
    """The element holding the labels of the boxes at `box_index`: the next label element."""
    for index in range(box_index + 1, len(kinds)):
        if kinds[index] == BOX_LABEL_KIND:
            return index
        if kinds[index] == BOX_KIND:
            return None
    return None


def drop_empty_boxes(sample: tuple, kinds: Kinds) -> tuple:
    """`sample` with the boxes that have no area removed (an item's `(N, 4)` boxes, with their
    labels) or turned into padding (a batch's `(B, N, 4)`: zero box, label `PAD_LABEL`).

    Each box element is paired with the label element that follows it; a `ValueError` says so
    when the two do not hold as many entries.
    """
    if BOX_KIND not in kinds:
        return sample
    out = list(sample)
    for index, kind in enumerate(kinds):
        if kind != BOX_KIND:
            continue
        boxes = as_box_tensor(out[index])
        label_index = _label_index(kinds, index)
        labels = None if label_index is None else torch.as_tensor(out[label_index])
        if labels is not None and tuple(labels.shape) != tuple(boxes.shape[:-1]):
            raise ValueError(
                f"{tuple(boxes.shape[:-1])} boxes but {tuple(labels.shape)} labels: each box "
                "needs exactly one label (check that get_y returns the boxes and the labels of "
                "the same item, in the same order)"
            )
        empty = empty_boxes(boxes)
        if not bool(empty.any()):
            out[index] = boxes
            continue
        if boxes.ndim == 2:
            keep = ~empty
            out[index] = boxes[keep]
            if labels is not None and label_index is not None:
                out[label_index] = labels[keep]
        else:
            out[index] = boxes.masked_fill(empty[..., None], 0.0)
            if labels is not None and label_index is not None:
                out[label_index] = labels.masked_fill(empty, PAD_LABEL)
    return tuple(out)
