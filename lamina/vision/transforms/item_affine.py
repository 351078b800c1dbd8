"""`ItemAffineResize`: a batch `AffineWarp` folded into the item-stage resize, for CPU batches.

On the CPU the batch path resamples every training image twice: Pillow resizes it per item, then
`F.grid_sample` warps the float batch (about as costly as decoding a small JPEG). This transform
does both in one Pillow `Image.transform` per image, in the DataLoader workers: the output pixel
is mapped through the warp (on the output canvas) and then the resize plan (canvas to source)
straight to the source image.

Geometry. `AffineWarp`'s sampling matrices map output points to input points in `grid_sample`'s
normalized coordinates; here they are conjugated into canvas pixels (Pillow's continuous
coordinates, pixel centres at i + 0.5, see `item.py`) and composed with the resize's box, so
the warp acts on the resized canvas exactly as the batch step would. Differences from the batch
path, all small:

- Bilinear sampling straight from the source has no antialiasing filter. When the source is two
  or more times the output along an axis it is first shrunk by the integer factor with a box
  filter (`Image.reduce`), so the remaining factor stays below 2, as with "presizing".
- Where the warp reaches past the resize's crop box but not past the source, the real pixels
  around the box are read rather than reflected ones.
- Outside the source, "reflection" and "border" are emulated by reading from a padded copy of
  just the region sampled (only when the region leaves the image); "zeros" fills with 0.
  With `Resize(method="pad")` the canvas padding and the warp padding become one, padded as the
  resize's `pad_mode` says.

Cost. Pillow's bilinear `transform` costs about what its `resize` does, and per pixel about
what `grid_sample` does, so folding saves one resampling per image and spends some of it on the
reflection emulation and Python bookkeeping. Measured on a 2-core CPU (160x120 JPEGs to 64x64):
about 10% less CPU per image with `pad_mode="zeros"`, nothing with "reflection". Hence
`DataBlock.dataloaders(fuse_augment=...)` leaves it off unless asked.

Random draws come from `AffineWarp.draw_matrices` in blocks of 64 (one call per image would cost
more than the warp), on torch's global generator. A block is dropped whenever that generator's
state changed since it was drawn (a reseed, a worker's own seed, another draw), so the draws
always follow from the generator's state, as the batch step's do. Crops use Python's `random`,
as the resize transforms do.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, TypeGuard

import numpy as np
import torch

from lamina.core.registry import register
from lamina.data.transform import (
    Kinds,
    Transform,
    transform_from_config,
    transform_to_config,
)
from lamina.vision.data.box_geometry import (
    BOX_KIND,
    as_box_tensor,
    clip_boxes,
    drop_empty_boxes,
    move_boxes,
)
from lamina.vision.transforms.affine import AffineWarp, transform_points
from lamina.vision.transforms.resize import CropPad, RandomResizedCrop, Resize

Matrix = np.ndarray  # (3, 3) float64, maps output pixels to input pixels
SIZE_FIXING = (Resize, RandomResizedCrop)


def _fixes_size(tfm: Transform) -> TypeGuard[Resize | RandomResizedCrop]:
    # Exactly these classes: a subclass might change the geometry the fused warp reproduces.
    return type(tfm) in SIZE_FIXING


FUSE_CHOICES = ("auto", True, False)
_BLOCK = 64  # matrices drawn per call to draw_matrices
_SPATIAL = ("image", "mask")


def _diagonal(sx: float, sy: float, tx: float = 0.0, ty: float = 0.0) -> Matrix:
    return np.array([[sx, 0.0, tx], [0.0, sy, ty], [0.0, 0.0, 1.0]])


def _to_normalized(width: int, height: int, align_corners: bool) -> Matrix:
    """Canvas pixels (pixel centres at i + 0.5) to `grid_sample`'s normalized coordinates."""
    if align_corners:  # -1 and +1 are the centres of the edge pixels
        return _diagonal(2 / (width - 1), 2 / (height - 1), -width / (width - 1),
                         -height / (height - 1))  # fmt: skip
    return _diagonal(2 / width, 2 / height, -1.0, -1.0)


def _from_normalized(width: int, height: int, align_corners: bool) -> Matrix:
    if align_corners:
        return _diagonal((width - 1) / 2, (height - 1) / 2, width / 2, height / 2)
    return _diagonal(width / 2, height / 2, width / 2, height / 2)


def _plan_matrix(plan: Any) -> Matrix:
    """A resize plan as a matrix: canvas pixels to the reference source's pixels."""
    left, top, right, bottom = plan.box
    sx, sy = (right - left) / plan.size[0], (bottom - top) / plan.size[1]
    return _diagonal(sx, sy, left - plan.offset[0] * sx, top - plan.offset[1] * sy)


def _is_flip(matrix: Matrix) -> bool:
    """True for the identity and pure flips (exact: unchosen steps compose exact 0s and 1s)."""
    (a, b, c), (d, e, f), (g, h, i) = matrix.tolist()
    return b == c == d == f == g == h == 0 and abs(a) == abs(e) == i == 1


def _bounds(matrix: Matrix, width: int, height: int) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) input pixels that an output of (width, height) reads.

    A projective map keeps lines straight, so the output's corners bound what it reads; one
    pixel more covers the bilinear neighbours. (Plain floats: NumPy is slower on four points.)
    """
    (a, b, c), (d, e, f), (g, h, i) = matrix.tolist()
    xs, ys = [], []
    for x, y in ((0, 0), (width, 0), (0, height), (width, height)):
        w = g * x + h * y + i
        xs.append((a * x + b * y + c) / w)
        ys.append((d * x + e * y + f) / w)
    left, top = math.floor(min(xs)) - 1, math.floor(min(ys)) - 1
    return left, top, math.ceil(max(xs)) + 1, math.ceil(max(ys)) + 1


def _fold(indices: np.ndarray, n: int, pad_mode: str) -> np.ndarray:
    """Indices outside [0, n) folded back in: mirrored about the edge pixels, or clamped."""
    if pad_mode == "border" or n == 1:
        return indices.clip(0, n - 1)
    period = 2 * (n - 1)
    folded = np.abs(indices) % period
    return np.where(folded >= n, period - folded, folded)


def _pad(img: Any, widths: tuple[int, int, int, int], pad_mode: str) -> Any:
    """`img` padded by (left, top, right, bottom) pixels, each below its side.

    Pillow crops, mirrors and pastes: several times faster than a round trip through NumPy on
    images this small.
    """
    from PIL import Image

    left, top, right, bottom = widths
    width, height = img.size
    out = Image.new(img.mode, (left + width + right, top + height + bottom))
    out.paste(img, (left, top))
    end, total = left + width, top + height + bottom
    flip_y, flip_x = Image.Transpose.FLIP_TOP_BOTTOM, Image.Transpose.FLIP_LEFT_RIGHT
    # (strip to copy, how to turn it, how big it becomes, where it goes): rows, then columns.
    strips: list[
        tuple[Any, tuple[int, int, int, int], Any, tuple[int, int] | None, tuple[int, int]]
    ]
    if pad_mode == "reflection":
        strips = [
            (img, (0, 1, width, 1 + top), flip_y, None, (left, 0)),
            (img, (0, height - 1 - bottom, width, height - 1), flip_y, None, (left, top + height)),
            (out, (left + 1, 0, 2 * left + 1, total), flip_x, None, (0, 0)),
            (out, (end - 1 - right, 0, end - 1, total), flip_x, None, (end, 0)),
        ]
    else:
        strips = [
            (img, (0, 0, width, 1), None, (width, top), (left, 0)),
            (img, (0, height - 1, width, height), None, (width, bottom), (left, top + height)),
            (out, (left, 0, left + 1, total), None, (left, total), (0, 0)),
            (out, (end - 1, 0, end, total), None, (right, total), (end, 0)),
        ]
    for source, box, turn, size, place in strips:
        if box[2] > box[0] and box[3] > box[1] and (size is None or min(size) > 0):
            strip = source.crop(box)
            strip = strip.transpose(turn) if turn is not None else strip.resize(size, 0)
            out.paste(strip, place)
    if img.mode == "P":
        out.putpalette(img.getpalette())
    return out


def _padded(img: Any, matrix: Matrix, out: tuple[int, int], pad_mode: str) -> tuple:
    """`(img, matrix)`, or, when the output reads past the image, a padded copy and its matrix."""
    left, top, right, bottom = _bounds(matrix, *out)
    width, height = img.size
    if left >= 0 and top >= 0 and right <= width and bottom <= height:
        return img, matrix
    widths = (max(0, -left), max(0, -top), max(0, right - width), max(0, bottom - height))
    if max(widths[0], widths[2]) < width and max(widths[1], widths[3]) < height:
        return _pad(img, widths, pad_mode), _diagonal(1.0, 1.0, *widths[:2]) @ matrix
    # Reaching past a whole image width (a strong zoom out): fold every index back in.
    from PIL import Image

    rows = _fold(np.arange(top, bottom), height, pad_mode)
    cols = _fold(np.arange(left, right), width, pad_mode)
    region = Image.fromarray(np.asarray(img).take(rows, axis=0).take(cols, axis=1))
    if img.mode == "P":
        region.putpalette(img.getpalette())
    return region, _diagonal(1.0, 1.0, -left, -top) @ matrix


def _reduction(matrix: Matrix, out: tuple[int, int]) -> tuple[int, int]:
    """Whole input pixels per output pixel along x and y, at the output's centre."""
    (a, b, c), (d, e, f), (g, h, i) = matrix.tolist()
    cx, cy = out[0] / 2, out[1] / 2
    w = g * cx + h * cy + i
    x, y = (a * cx + b * cy + c) / w, (d * cx + e * cy + f) / w
    # The projective map's derivative there: rows (a - x g, b - x h) / w and (d - y g, e - y h) / w.
    step_x = math.hypot(a - x * g, b - x * h) / w
    step_y = math.hypot(d - y * g, e - y * h) / w
    return max(1, int(step_x)), max(1, int(step_y))


def _warp(img: Any, matrix: Matrix, out: tuple[int, int], resample: str, pad_mode: str,
          fill: int) -> Any:  # fmt: skip
    """`img` resampled to `out` (w, h), output pixel p read at input pixel `matrix @ p`."""
    from PIL import Image

    if resample != "nearest":
        # Shrink by an integer factor first, so bilinear sampling skips fewer pixels.
        reduce_x, reduce_y = _reduction(matrix, out)
        if reduce_x > 1 or reduce_y > 1:
            img = img.reduce((reduce_x, reduce_y))
            matrix = _diagonal(1 / reduce_x, 1 / reduce_y) @ matrix
    if pad_mode != "zeros":
        img, matrix = _padded(img, matrix, out, pad_mode)
    coefficients = (matrix / matrix[2, 2]).ravel().tolist()[:8]
    method = Image.Transform.PERSPECTIVE
    if coefficients[6] == coefficients[7] == 0:
        coefficients, method = coefficients[:6], Image.Transform.AFFINE
    filter_ = Image.Resampling[resample.upper()]
    return img.transform(out, method, coefficients, filter_, fillcolor=fill)


class _Draws:
    """`AffineWarp` sampling matrices for one image at a time, drawn in blocks."""

    def __init__(self, affine: AffineWarp, height: int, width: int) -> None:
        self.affine, self.height, self.width = affine, height, width
        self._pending: list[Matrix] = []
        self._state: bytes | None = None

    def next(self) -> Matrix:
        """The next matrix; a new block when the generator moved since the last was drawn."""
        # Comparing bytes is several times faster than torch.equal on the 5 kB state.
        state = torch.get_rng_state().numpy().tobytes()
        if not self._pending or state != self._state:
            matrices, _ = self.affine.draw_matrices(_BLOCK, self.height, self.width)
            self._pending = list(matrices.double().numpy())[::-1]
            self._state = torch.get_rng_state().numpy().tobytes()
        return self._pending.pop()

    def __getstate__(self) -> dict[str, Any]:
        # Workers start with no block: theirs come from their own generators.
        return {**self.__dict__, "_pending": [], "_state": None}


def _as_transform(value: Any, name: str) -> Transform:
    if isinstance(value, dict):
        return transform_from_config(value)
    if not isinstance(value, Transform):
        raise ValueError(f"{name} must be a Transform or its config dict, got {value!r}")
    return value


def _first_size(sample: tuple, kinds: Kinds) -> tuple[int, int] | None:
    for x, kind in zip(sample, kinds, strict=True):
        if kind in _SPATIAL:
            if isinstance(x, torch.Tensor) or not isinstance(getattr(x, "size", None), tuple):
                raise TypeError(f"ItemAffineResize runs on PIL images, before ToTensor; got {x!r}")
            return x.size
    return None


@register("transform")
class ItemAffineResize(Transform):
    """A size-fixing resize and an `AffineWarp`, done in one Pillow resampling per item.

    On the training set (`split_idx` 0): the resize's plan (random crop included) and one
    random `AffineWarp` matrix per sample, applied together to images (the warp's `mode`),
    masks (nearest; outside the source `mask_fill`, or padded like images when None), points
    and boxes (the upright box around the moved corners, clipped; boxes left outside dropped
    with their labels).
    On every other split it is exactly the resize. See the module notes for how it differs
    from resizing and then warping the batch.

    Args:
        resize: a `Resize` or `RandomResizedCrop` (or its `{"name", "args"}` config).
        affine: an `AffineWarp` without `size` (or its config).

    Example:
        >>> tfm = ItemAffineResize(Resize(64), AffineWarp(max_rotate=15.0))
        >>> dblock = DataBlock((ImageBlock(), CategoryBlock()), item_tfms=tfm, ...)
    """

    def __init__(
        self, resize: Transform | dict[str, Any], affine: Transform | dict[str, Any]
    ) -> None:
        resize_tfm = _as_transform(resize, "resize")
        affine_tfm = _as_transform(affine, "affine")
        if not _fixes_size(resize_tfm):
            raise ValueError(f"resize must be a Resize or RandomResizedCrop, got {resize_tfm!r}")
        if type(affine_tfm) is not AffineWarp or affine_tfm.size is not None:
            raise ValueError(f"affine must be an AffineWarp with size=None, got {affine_tfm!r}")
        self.resize, self.affine = resize_tfm, affine_tfm
        height, width = self.resize.size
        if self.affine.align_corners and min(height, width) < 2:
            raise ValueError(f"the resize's size must be at least 2x2, got {self.resize.size!r}")
        self.order = self.resize.order
        self._draws = _Draws(self.affine, height, width)
        align = self.affine.align_corners
        self._to_normalized = _to_normalized(width, height, align)
        self._from_normalized = _from_normalized(width, height, align)

    def __call__(self, sample: tuple, kinds: Kinds, split_idx: int | None = None) -> tuple:
        """The resize, with a random warp when `split_idx` is 0 (the training set); boxes that
        leave the image are dropped with their labels."""
        return drop_empty_boxes(self._resize_and_warp(sample, kinds, split_idx), kinds)

    def _resize_and_warp(self, sample: tuple, kinds: Kinds, split_idx: int | None) -> tuple:
        reference = _first_size(sample, kinds)
        if split_idx != 0 or reference is None:
            return self.resize(sample, kinds, split_idx)
        matrix = self._draws.next()
        if _is_flip(matrix):  # a flip (or nothing): the exact resize, then a lossless mirror
            sample = self.resize(sample, kinds, split_idx)
            return _flip(sample, kinds, matrix[0, 0] < 0, matrix[1, 1] < 0)
        plan = self.resize.plan(reference, True)
        # Output pixels -> canvas pixels (the warp) -> reference pixels (the resize).
        geometry = _plan_matrix(plan) @ (self._from_normalized @ matrix @ self._to_normalized)
        pad = getattr(self.resize, "method", None) == "pad"
        return tuple(
            self._encode(x, kind, geometry, reference, plan.canvas, pad)
            for x, kind in zip(sample, kinds, strict=True)
        )

    def _encode(self, x: Any, kind: str, geometry: Matrix, reference: tuple[int, int],
                out: tuple[int, int], pad: bool) -> Any:  # fmt: skip
        if kind == "points":
            inverse = torch.from_numpy(np.linalg.inv(geometry))
            points = torch.as_tensor(x)
            points = points.float() if not points.is_floating_point() else points
            return transform_points(points[None], inverse[None])[0]
        if kind == BOX_KIND:
            inverse = torch.from_numpy(np.linalg.inv(geometry))
            moved = move_boxes(
                as_box_tensor(x), lambda corners: transform_points(corners[None], inverse[None])[0]
            )
            return clip_boxes(moved, (0.0, 0.0), (float(out[0]), float(out[1])))
        if kind not in _SPATIAL:
            return x
        # An element at another scale (a draft-decoded image beside a full-size mask).
        scale = _diagonal(x.size[0] / reference[0], x.size[1] / reference[1])
        matrix = scale @ geometry
        pad_mode = self.resize.pad_mode if pad else self.affine.pad_mode
        if kind == "image":
            return _warp(x, matrix, out, self.affine.mode, pad_mode, 0)
        fill = self.affine.mask_fill
        if fill is None or pad:
            return _warp(x, matrix, out, "nearest", pad_mode, 0)
        return _warp(x, matrix, out, "nearest", "zeros", fill)

    def draft_size(self) -> tuple[int, int]:
        """(width, height): the resize's."""
        return self.resize.draft_size()

    def config(self) -> dict[str, Any]:
        """Both parts as `{"name", "args"}` configs."""
        return {
            "resize": transform_to_config(self.resize),
            "affine": transform_to_config(self.affine),
        }


def _flip(sample: tuple, kinds: Kinds, flip_x: bool, flip_y: bool) -> tuple:
    """Mirror the images, masks, points and boxes of a resized sample."""
    from PIL import Image

    size = _first_size(sample, kinds)
    assert size is not None, "a sample that is flipped holds an image or a mask"
    out = []
    for x, kind in zip(sample, kinds, strict=True):
        if kind in _SPATIAL:
            x = x.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if flip_x else x
            x = x.transpose(Image.Transpose.FLIP_TOP_BOTTOM) if flip_y else x
        elif kind == "points" and (flip_x or flip_y):
            x = x.clone()
            if flip_x:
                x[:, 0] = size[0] - x[:, 0]
            if flip_y:
                x[:, 1] = size[1] - x[:, 1]
        elif kind == BOX_KIND and (flip_x or flip_y):
            x = as_box_tensor(x).clone()
            if flip_x:
                x[:, [0, 2]] = size[0] - x[:, [2, 0]]
            if flip_y:
                x[:, [1, 3]] = size[1] - x[:, [3, 1]]
        out.append(x)
    return tuple(out)


def why_not_fusable(item_tfms: Sequence[Transform], batch_tfms: Sequence[Transform]) -> str | None:
    """Why `fuse_augment_tfms` cannot fold these transforms, or None when it can."""
    sizers = [tfm for tfm in item_tfms if _fixes_size(tfm)]
    affines = [tfm for tfm in batch_tfms if type(tfm) is AffineWarp]
    if len(affines) != 1:
        return f"the batch transforms hold {len(affines)} AffineWarp(s), not exactly one"
    if affines[0].size is not None:
        return "the batch AffineWarp resizes (its size is set)"
    if len(sizers) != 1:
        return f"the item transforms hold {len(sizers)} Resize/RandomResizedCrop, not exactly one"
    if any(isinstance(tfm, (CropPad, ItemAffineResize)) for tfm in item_tfms):
        return "another geometric item transform (CropPad, ItemAffineResize) is present"
    if min(sizers[0].size) < 2:
        return "the resize's output is thinner than 2 pixels"
    return None


def fuse_augment_tfms(
    item_tfms: Sequence[Transform],
    batch_tfms: Sequence[Transform],
    fuse_augment: bool | str = "auto",
    device: torch.device | str = "cpu",
) -> tuple[list[Transform], list[Transform]]:
    """Item and batch transforms with the batch `AffineWarp` folded into the item resize.

    Args:
        fuse_augment: True to fold (a `ValueError` says why when it cannot), False to keep the
            batch warp, "auto" to fold when `device` is the CPU and the transforms allow it.
        device: where the batch transforms would run.
    """
    if not (isinstance(fuse_augment, bool) or fuse_augment == "auto"):
        raise ValueError(f"fuse_augment must be one of {FUSE_CHOICES}, got {fuse_augment!r}")
    item_tfms, batch_tfms = list(item_tfms), list(batch_tfms)
    if fuse_augment is False or (fuse_augment == "auto" and torch.device(device).type != "cpu"):
        return item_tfms, batch_tfms
    reason = why_not_fusable(item_tfms, batch_tfms)
    if reason is not None:
        if fuse_augment is True:
            raise ValueError(f"fuse_augment=True, but {reason}")
        return item_tfms, batch_tfms
    (affine,) = [tfm for tfm in batch_tfms if type(tfm) is AffineWarp]
    fused = [ItemAffineResize(tfm, affine) if type(tfm) in SIZE_FIXING else tfm
             for tfm in item_tfms]  # fmt: skip
    return fused, [tfm for tfm in batch_tfms if tfm is not affine]
