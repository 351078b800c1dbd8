"""Item transforms: per-sample geometry on PIL images, masks and points, then `ToTensor`.

These run in DataLoader workers, once per item per epoch, so each does one Pillow call where it
can (crop and resize together through `resize(box=...)`, with `reducing_gap` for large factors).

Coordinates. "points" are float tensors (N, 2) of (x, y) in continuous pixel coordinates of the
sample's image: (0, 0) is the top-left corner of the top-left pixel, (W, H) the bottom-right
corner of the bottom-right pixel, so pixel (i, j) has its centre at (i + 0.5, j + 0.5). This is the
convention Pillow's `resize(box=...)` resamples in, so moving a point is an exact affine map.

"bbox" elements are float tensors (N, 4) of boxes (x0, y0, x1, y1) in the same coordinates; a
transform moves each box's corners like points and keeps the upright box around them, clipped
to the output, and drops the boxes left with no area, with their labels
(`lamina.vision.data.box_geometry`).

Randomness. Random choices use Python's `random` module, which torch's DataLoader reseeds in each
worker, and `lamina.set_seed` seeds. A geometric transform draws once per sample in `before_call`,
so an image, its mask and its points move together.

Train versus validation. The base `Transform.__call__` skips a transform whose `split_idx` does
not match. `Resize` and `RandomResizedCrop` must run on every split but crop randomly only on the
training set, so they keep `split_idx = None` and override `__call__` to note whether the split
passed in is 0 (training): random crops then, centre crops otherwise (None included).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from lamina.core.registry import register
from lamina.data.transform import Kinds, Transform
from lamina.vision.data.box_geometry import (
    BOX_KIND,
    as_box_tensor,
    clip_boxes,
    drop_empty_boxes,
    move_boxes,
)
from lamina.vision.data.images import image_to_tensor, mask_to_tensor

RESIZE_METHODS = ("crop", "pad", "squish")
PAD_MODES = ("zeros", "border", "reflection")
RESAMPLES = ("nearest", "bilinear", "bicubic", "lanczos", "box", "hamming")
_SPATIAL = ("image", "mask")
# Pillow first shrinks by an integer factor with a box filter while the remaining factor stays
# above this gap: much faster on large reductions, and visually the same as a full resample.
_REDUCING_GAP = 2.0


def _check_choice(name: str, value: Any, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {tuple(allowed)}, got {value!r}")


def _size_pair(size: int | Sequence[int]) -> tuple[int, int]:
    """`size` as (height, width), validated."""
    pair = (size, size) if isinstance(size, int) else tuple(size)
    valid = len(pair) == 2 and all(
        isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in pair
    )
    if not valid:
        raise ValueError(f"size must be a positive int or a pair (height, width), got {size!r}")
    return pair  # type: ignore[return-value]


def _spatial_size(x: Any, kind: str, tfm: Transform) -> tuple[int, int]:
    """(width, height) of a PIL image, or of a tensor (..., H, W)."""
    if isinstance(x, torch.Tensor):
        return x.shape[-1], x.shape[-2]
    if not isinstance(getattr(x, "size", None), tuple):
        raise TypeError(f"{type(tfm).__name__} expects a PIL image for kind {kind!r}, got {x!r}")
    return x.size


@dataclass(frozen=True)
class _Plan:
    """One sample's geometry: resample `box` of the source to `size`, place it on a canvas.

    All in pixels of the reference element (the sample's first image or mask), of size `ref`.
    """

    ref: tuple[int, int]  # (W, H) of the reference element
    box: tuple[float, float, float, float]  # (left, top, right, bottom), inside the source
    size: tuple[int, int]  # (w, h) the box is resampled to
    offset: tuple[int, int]  # (x, y) of the resampled box on the canvas
    canvas: tuple[int, int]  # (w, h) of the output


def _box_for(plan: _Plan, width: int, height: int) -> tuple[float, ...]:
    if (width, height) == plan.ref:
        return plan.box
    # An element at another scale (a draft-decoded image beside a full-size mask) takes the
    # same region of its own pixels.
    sx, sy = width / plan.ref[0], height / plan.ref[1]
    left, top, right, bottom = plan.box
    return (left * sx, top * sy, right * sx, bottom * sy)


def _apply(img: Any, plan: _Plan, resample: str, pad_mode: str) -> Any:
    """Carry out `plan` on a PIL image with the named resampling filter."""
    from PIL import Image

    box = _box_for(plan, *img.size)
    box_size = (box[2] - box[0], box[3] - box[1])
    if box == (0, 0, *img.size) and plan.size == img.size:
        out = img
    elif box_size == plan.size and all(float(v).is_integer() for v in box):
        out = img.crop(tuple(int(v) for v in box))
    else:
        method = Image.Resampling[resample.upper()]
        out = img.resize(plan.size, method, box=box, reducing_gap=_REDUCING_GAP)
    if plan.canvas != plan.size:
        out = _pad(out, plan.offset, plan.canvas, pad_mode)
    return out


def _pad(img: Any, offset: tuple[int, int], canvas: tuple[int, int], pad_mode: str) -> Any:
    """Place `img` at `offset` on a `canvas`, filling the rest as `pad_mode` says."""
    from PIL import Image

    left, top = offset
    if pad_mode == "zeros":
        out = Image.new(img.mode, canvas)
        out.paste(img, (left, top))
    else:
        array = np.asarray(img)
        right, bottom = canvas[0] - img.size[0] - left, canvas[1] - img.size[1] - top
        widths = ((top, bottom), (left, right)) + ((0, 0),) * (array.ndim - 2)
        out = Image.fromarray(
            np.pad(array, widths, mode="edge" if pad_mode == "border" else "reflect")
        )
    if img.mode == "P":
        out.putpalette(img.getpalette())
    return out


def _move_points(points: Any, plan: _Plan) -> torch.Tensor:
    """Points (N, 2) in source pixels, mapped to output pixels by `plan`."""
    points = torch.as_tensor(points)
    if not points.is_floating_point():
        points = points.float()
    left, top, right, bottom = plan.box
    sx, sy = plan.size[0] / (right - left), plan.size[1] / (bottom - top)
    scale = torch.tensor([sx, sy], dtype=points.dtype)
    shift = torch.tensor(
        [plan.offset[0] - left * sx, plan.offset[1] - top * sy], dtype=points.dtype
    )
    return points * scale + shift


def _move_boxes(boxes: Any, plan: _Plan) -> torch.Tensor:
    """Boxes (N, 4) in source pixels, mapped to output pixels by `plan` and clipped to its
    canvas."""
    moved = move_boxes(as_box_tensor(boxes), lambda points: _move_points(points, plan))
    return clip_boxes(moved, (0.0, 0.0), (float(plan.canvas[0]), float(plan.canvas[1])))


class _Geometric(Transform):
    """Shared machinery: plan once per sample, apply the plan to each image, mask and points."""

    order = 1
    resample = "bilinear"
    pad_mode = "zeros"
    _train = False
    _plan: _Plan | None = None

    def __call__(self, sample: tuple, kinds: Kinds, split_idx: int | None = None) -> tuple:
        """Apply to `sample`; random choices only when `split_idx` is 0 (the training set)."""
        self._train = split_idx == 0
        return drop_empty_boxes(super().__call__(sample, kinds, split_idx), kinds)

    def before_call(self, sample: tuple, kinds: Kinds) -> None:
        """Plan the geometry from the first image or mask in the sample."""
        self._plan = None
        for x, kind in zip(sample, kinds, strict=True):
            if kind in _SPATIAL:
                self._plan = self.plan(_spatial_size(x, kind, self), self._train)
                return

    def plan(self, size: tuple[int, int], train: bool) -> _Plan:
        """The geometry for a source of `size` (width, height)."""
        raise NotImplementedError

    def encode(self, x: Any, kind: str) -> Any:
        """Resample an image (with `resample`), a mask (nearest) or move points or boxes."""
        if kind not in (*_SPATIAL, "points", BOX_KIND):
            return x
        if self._plan is None:
            raise ValueError(
                f"{type(self).__name__} got {kind!r} without an image or mask in the sample "
                "to size it"
            )
        if kind == "points":
            return _move_points(x, self._plan)
        if kind == BOX_KIND:
            return _move_boxes(x, self._plan)
        if isinstance(x, torch.Tensor):
            raise TypeError(f"{type(self).__name__} runs on PIL images, before ToTensor")
        resample = self.resample if kind == "image" else "nearest"
        return _apply(x, self._plan, resample, self.pad_mode)

    def draft_size(self) -> tuple[int, int] | None:
        """(width, height) of the smallest decoded image this transform needs, or None."""
        return None


def _centre_box(
    width: int, height: int, aspect: float, shrink: float = 1.0
) -> tuple[float, float, float, float]:
    """The largest centred box of `aspect` (w / h) in the image, each side divided by `shrink`."""
    box_w, box_h = min(width, height * aspect), min(height, width / aspect)
    box_w, box_h = box_w / shrink, box_h / shrink
    left, top = (width - box_w) / 2, (height - box_h) / 2
    return (left, top, left + box_w, top + box_h)


@register("transform")
class Resize(_Geometric):
    """Resize images (and their masks and points) to `size`.

    Args:
        size: an int for a square, or (height, width).
        method: "squish" stretches the whole image; "crop" scales the short side to fit and crops
            the rest (a random crop on the training set, the centre elsewhere); "pad" fits the
            whole image inside and pads the remainder.
        pad_mode: how "pad" fills: "zeros", "border" (repeat the edge) or "reflection".
        resample: Pillow filter for images; masks always use nearest neighbour.
    """

    def __init__(
        self,
        size: int | Sequence[int],
        method: str = "crop",
        pad_mode: str = "reflection",
        resample: str = "bilinear",
    ) -> None:
        self.size = _size_pair(size)
        _check_choice("method", method, RESIZE_METHODS)
        _check_choice("pad_mode", pad_mode, PAD_MODES)
        _check_choice("resample", resample, RESAMPLES)
        self.method, self.pad_mode, self.resample = method, pad_mode, resample

    def plan(self, size: tuple[int, int], train: bool) -> _Plan:
        """Geometry for a source of `size` (width, height)."""
        width, height = size
        out_h, out_w = self.size
        whole = (0.0, 0.0, float(width), float(height))
        if self.method == "squish":
            return _Plan(size, whole, (out_w, out_h), (0, 0), (out_w, out_h))
        if self.method == "pad":
            scale = min(out_w / width, out_h / height)
            fit_w = min(out_w, max(1, round(width * scale)))
            fit_h = min(out_h, max(1, round(height * scale)))
            offset = ((out_w - fit_w) // 2, (out_h - fit_h) // 2)
            return _Plan(size, whole, (fit_w, fit_h), offset, (out_w, out_h))
        box = _centre_box(width, height, out_w / out_h)
        if train:
            box_w, box_h = box[2] - box[0], box[3] - box[1]
            left, top = random.uniform(0, width - box_w), random.uniform(0, height - box_h)
            box = (left, top, left + box_w, top + box_h)
        return _Plan(size, box, (out_w, out_h), (0, 0), (out_w, out_h))

    def draft_size(self) -> tuple[int, int]:
        """(width, height): any method needs at most the output size in each dimension."""
        return (self.size[1], self.size[0])

    def config(self) -> dict[str, Any]:
        """Constructor arguments as JSON."""
        return {
            "size": list(self.size),
            "method": self.method,
            "pad_mode": self.pad_mode,
            "resample": self.resample,
        }


@register("transform")
class RandomResizedCrop(_Geometric):
    """A random crop of random area and aspect ratio, resized to `size`, on the training set.

    On other splits: the centre crop with the output's aspect ratio, each side reduced by a
    factor `1 + val_xtra`, resized to `size`, i.e. resize the short side to `size * (1 + val_xtra)`
    and keep the centre, close to the zoom that training crops average.

    Args:
        size: an int for a square, or (height, width).
        min_scale: smallest fraction of the image area a training crop covers (up to 1).
        ratio: range of the crop's aspect ratio, relative to the output's (so square outputs
            take crops between 3:4 and 4:3 by default). Sampled log-uniformly.
        val_xtra: extra border dropped around the validation centre crop.
        resample: Pillow filter for images; masks always use nearest neighbour.

    Its `draft_size` asks for `size * (1 + val_xtra)`, enough for validation and for whole-image
    training crops; small training crops are then upsampled, as when training on pre-shrunk
    images.
    """

    def __init__(
        self,
        size: int | Sequence[int],
        min_scale: float = 0.08,
        ratio: Sequence[float] = (3 / 4, 4 / 3),
        val_xtra: float = 0.14,
        resample: str = "bilinear",
    ) -> None:
        self.size = _size_pair(size)
        if not 0 < min_scale <= 1:
            raise ValueError(f"min_scale must be in (0, 1], got {min_scale!r}")
        ratio = tuple(ratio)
        if len(ratio) != 2 or not 0 < ratio[0] <= ratio[1]:
            raise ValueError(f"ratio must be (low, high) with 0 < low <= high, got {ratio!r}")
        if val_xtra < 0:
            raise ValueError(f"val_xtra must be >= 0, got {val_xtra!r}")
        _check_choice("resample", resample, RESAMPLES)
        self.min_scale, self.ratio, self.val_xtra = min_scale, ratio, val_xtra
        self.resample = resample

    def plan(self, size: tuple[int, int], train: bool) -> _Plan:
        """Geometry for a source of `size` (width, height)."""
        width, height = size
        out_h, out_w = self.size
        out = (out_w, out_h)
        if not train:
            box = _centre_box(width, height, out_w / out_h, 1 + self.val_xtra)
            return _Plan(size, box, out, (0, 0), out)
        log_low, log_high = math.log(self.ratio[0]), math.log(self.ratio[1])
        for _ in range(10):
            area = width * height * random.uniform(self.min_scale, 1.0)
            aspect = math.exp(random.uniform(log_low, log_high)) * out_w / out_h
            box_w, box_h = math.sqrt(area * aspect), math.sqrt(area / aspect)
            if box_w <= width and box_h <= height:
                left = random.uniform(0, width - box_w)
                top = random.uniform(0, height - box_h)
                return _Plan(size, (left, top, left + box_w, top + box_h), out, (0, 0), out)
        # No draw fitted (a very elongated image): fall back to the largest centre crop.
        return _Plan(size, _centre_box(width, height, out_w / out_h), out, (0, 0), out)

    def draft_size(self) -> tuple[int, int]:
        """(width, height) needed by the validation crop."""
        # Rounding first keeps 100 * 1.14 = 114.00000000000001 at 114.
        height, width = (math.ceil(round(v * (1 + self.val_xtra), 6)) for v in self.size)
        return (width, height)

    def config(self) -> dict[str, Any]:
        """Constructor arguments as JSON."""
        return {
            "size": list(self.size),
            "min_scale": self.min_scale,
            "ratio": list(self.ratio),
            "val_xtra": self.val_xtra,
            "resample": self.resample,
        }


@register("transform")
class CropPad(_Geometric):
    """Centre-crop or pad to `size` without scaling (each dimension independently).

    Args:
        size: an int for a square, or (height, width).
        pad_mode: "zeros", "border" (repeat the edge) or "reflection".

    It needs full-resolution pixels, so `draft_size` is None: if it runs before any resizing
    transform, the image must not be draft-decoded.
    """

    def __init__(self, size: int | Sequence[int], pad_mode: str = "zeros") -> None:
        self.size = _size_pair(size)
        _check_choice("pad_mode", pad_mode, PAD_MODES)
        self.pad_mode = pad_mode

    def plan(self, size: tuple[int, int], train: bool) -> _Plan:
        """Geometry for a source of `size` (width, height)."""
        width, height = size
        out_h, out_w = self.size
        # Top-left of the output window in source pixels; negative where the output pads.
        left, top = (width - out_w) // 2, (height - out_h) // 2
        box_left, box_top = max(left, 0), max(top, 0)
        box_right, box_bottom = min(left + out_w, width), min(top + out_h, height)
        box = (float(box_left), float(box_top), float(box_right), float(box_bottom))
        inner = (box_right - box_left, box_bottom - box_top)
        offset = (box_left - left, box_top - top)
        return _Plan(size, box, inner, offset, (out_w, out_h))

    def config(self) -> dict[str, Any]:
        """Constructor arguments as JSON."""
        return {"size": list(self.size), "pad_mode": self.pad_mode}


@register("transform")
class ToTensor(Transform):
    """The last item transform: PIL images and masks to tensors, points and boxes to [-1, 1].

    "image" becomes uint8 (C, H, W), "mask" int64 (H, W), "points" float (N, 2) scaled so that
    x = -1 is the left edge of the sample's image and +1 its right edge (y likewise), which is
    `grid_sample`'s coordinate system for the batch stage; "bbox" float (N, 4) likewise, and
    boxes with no area are dropped with their labels. Other kinds pass through.

    `decode` leaves everything as it is: display code (`lamina.vision.data.show`) takes image
    tensors (C, H, W), mask tensors and points in [-1, 1], and scales the points to the image it
    draws them on. (Pixel coordinates would be `(points + 1) / 2 * (W, H)`.)
    """

    order = 100
    _size: tuple[int, int] | None = None

    def before_call(self, sample: tuple, kinds: Kinds) -> None:
        """Record the (width, height) of the sample's first image or mask, to scale points."""
        self._size = _first_size(sample, kinds, self)

    def encode(self, x: Any, kind: str) -> Any:
        """Convert one element of the sample."""
        if isinstance(x, torch.Tensor) and kind in _SPATIAL:
            return x
        if kind == "image":
            return image_to_tensor(x)
        if kind == "mask":
            return mask_to_tensor(x)
        if kind == "points":
            if self._size is None:
                raise ValueError("ToTensor got points without an image or mask to scale them by")
            points = torch.as_tensor(x, dtype=torch.float32)
            return points / torch.tensor(self._size, dtype=torch.float32) * 2 - 1
        if kind == BOX_KIND:
            if self._size is None:
                raise ValueError("ToTensor got boxes without an image or mask to scale them by")
            boxes = torch.as_tensor(x, dtype=torch.float32)
            return boxes / torch.tensor(self._size * 2, dtype=torch.float32) * 2 - 1
        return x

    def __call__(self, sample: tuple, kinds: Kinds, split_idx: int | None = None) -> tuple:
        """Convert every element; boxes with no area leave the sample with their labels."""
        return drop_empty_boxes(super().__call__(sample, kinds, split_idx), kinds)

    def draft_size(self) -> tuple[int, int] | None:
        """None: converting does not constrain the decoded size."""


def _first_size(sample: tuple, kinds: Kinds, tfm: Transform) -> tuple[int, int] | None:
    for x, kind in zip(sample, kinds, strict=True):
        if kind in _SPATIAL:
            return _spatial_size(x, kind, tfm)
    return None
