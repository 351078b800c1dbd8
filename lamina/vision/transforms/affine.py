"""Flips, rotation, zoom and perspective warp, composed and applied in one resampling pass.

Every geometric augmentation here is a 3x3 *sampling matrix* per image: it maps a point of the
output, in grid_sample's normalized coordinates (x: -1 left edge, +1 right edge; y: -1 top,
+1 bottom), to the point of the input it is read from. Flip, rotation and zoom are affine
matrices; the perspective warp adds a projective bottom row. They compose by matrix
multiplication, so a whole batch takes one grid computation and one `F.grid_sample` however many
steps are on. `F.affine_grid` cannot divide by the projective coordinate, so `sampling_grid`
applies the matrix to the output pixel centres itself (at the same cost).

Several `AffineWarp`s in a row would each resample (and blur) the batch: build one instead.
`aug_transforms` returns a single `AffineWarp`, and `fuse_affine` merges consecutive ones (such as
`[Flip(), Rotate(), Zoom()]`) into one with the same random behaviour.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from lamina.core.registry import register
from lamina.data.transform import Kinds, Transform
from lamina.vision.data.box_geometry import (
    BOX_KIND,
    as_box_tensor,
    clip_boxes,
    drop_empty_boxes,
    move_boxes,
)

GEOMETRIC_KINDS = ("image", "mask", "points", BOX_KIND)
IMAGE_MODES = ("bilinear", "nearest", "bicubic")
PAD_MODES = ("zeros", "border", "reflection")


def flip_matrix(flip_x: torch.Tensor, flip_y: torch.Tensor) -> torch.Tensor:
    """Sampling matrices `(B, 3, 3)` mirroring images where the `(B,)` bool flags are set."""
    matrix = torch.eye(3).repeat(len(flip_x), 1, 1)
    matrix[:, 0, 0] = 1.0 - 2.0 * flip_x.float()
    matrix[:, 1, 1] = 1.0 - 2.0 * flip_y.float()
    return matrix


def rotation_matrix(degrees: torch.Tensor, aspect: float = 1.0) -> torch.Tensor:
    """Sampling matrices `(B, 3, 3)` turning content counter-clockwise on screen by `degrees`.

    Args:
        degrees: `(B,)` angles.
        aspect: how many input pixels one normalized unit spans along x, over the same along y
            (width / height, or (width - 1) / (height - 1) with `align_corners`); the rotation
            is done in pixel proportions so that non-square images are not sheared.
    """
    radians = degrees.float() * (math.pi / 180.0)
    cos, sin = torch.cos(radians), torch.sin(radians)
    matrix = torch.eye(3).repeat(len(degrees), 1, 1)
    matrix[:, 0, 0], matrix[:, 0, 1] = cos, -sin / aspect
    matrix[:, 1, 0], matrix[:, 1, 1] = sin * aspect, cos
    return matrix


def zoom_matrix(scale: torch.Tensor, centre: torch.Tensor) -> torch.Tensor:
    """Sampling matrices `(B, 3, 3)` magnifying content by `scale` `(B,)` around `centre` `(B, 2)`.

    `centre` is the input point, in normalized coordinates, that lands in the middle of the output.
    """
    matrix = torch.eye(3).repeat(len(scale), 1, 1)
    matrix[:, 0, 0] = matrix[:, 1, 1] = 1.0 / scale.float()
    matrix[:, :2, 2] = centre.float()
    return matrix


def warp_matrix(tilt: torch.Tensor) -> torch.Tensor:
    """Perspective sampling matrices `(B, 3, 3)` from `tilt` `(B, 2)`, the projective (x, y) terms.

    A point (x, y) is read from (x, y) / (1 + tilt_x * x + tilt_y * y): the side the tilt points to
    shrinks and the other grows, as if the picture were turned away from the camera.
    """
    matrix = torch.eye(3).repeat(len(tilt), 1, 1)
    matrix[:, 2, :2] = tilt.float()
    return matrix


def _axis(n: int, align_corners: bool, device: torch.device) -> torch.Tensor:
    if align_corners:
        return torch.linspace(-1.0, 1.0, n, device=device)
    return (torch.arange(n, device=device) * 2.0 + 1.0) / n - 1.0


def sampling_grid(
    matrix: torch.Tensor,
    size: tuple[int, int],
    align_corners: bool = True,
    projective: bool = True,
) -> torch.Tensor:
    """The contiguous `(B, H, W, 2)` grid for `F.grid_sample` from sampling matrices `(B, 3, 3)`.

    Args:
        projective: False promises that every bottom row is (0, 0, 1), which skips a division.
    """
    height, width = size
    xs = _axis(width, align_corners, matrix.device).view(1, 1, width)
    ys = _axis(height, align_corners, matrix.device).view(1, height, 1)
    m = matrix.to(xs.dtype)[..., None, None]  # (B, 3, 3, 1, 1)

    def row(i: int) -> torch.Tensor:  # (B, H, W): row i of the matrix times (x, y, 1)
        return m[:, i, 0] * xs + (m[:, i, 1] * ys + m[:, i, 2])

    grid = torch.empty(len(matrix), height, width, 2, device=matrix.device)
    # Written in place as (x, y) pairs: a grid that is not contiguous in its last dimension
    # (as a batched matmul returns it) makes grid_sample about twice as slow on the CPU.
    if projective:
        denominator = row(2)
        torch.div(row(0), denominator, out=grid[..., 0])
        torch.div(row(1), denominator, out=grid[..., 1])
    else:
        grid[..., 0], grid[..., 1] = row(0), row(1)
    return grid


def transform_points(points: torch.Tensor, inverse: torch.Tensor) -> torch.Tensor:
    """Move points `(B, N, 2)` with `inverse` `(B, 3, 3)`, the inverse of the sampling matrices.

    The sampling matrix maps output to input, so content at input point q shows up at
    `inverse @ q`. Points may leave [-1, 1]; they are kept, not clipped or dropped.
    """
    ones = torch.ones_like(points[..., :1])
    coords = torch.cat([points, ones], dim=-1) @ inverse.to(points).transpose(1, 2)
    return coords[..., :2] / coords[..., 2:]


def transform_boxes(boxes: torch.Tensor, inverse: torch.Tensor) -> torch.Tensor:
    """Move boxes `(B, N, 4)` in [-1, 1] with `inverse` `(B, 3, 3)` (as `transform_points`):
    the upright box around each box's moved corners, clipped to [-1, 1].

    Boxes left with no area are zeroed by the transform afterwards (`drop_empty_boxes`).
    """
    moved = move_boxes(as_box_tensor(boxes), lambda corners: transform_points(corners, inverse))
    return clip_boxes(moved, (-1.0, -1.0), (1.0, 1.0))


def resample_masks(
    masks: torch.Tensor,
    grid: torch.Tensor,
    fill: int | None = 0,
    pad_mode: str = "reflection",
    align_corners: bool = True,
) -> torch.Tensor:
    """Nearest-neighbour resampling of int64 masks `(B, H, W)`; outside the input reads `fill`.

    `fill=None` pads like the images instead (`pad_mode`), so labels follow reflected content.
    """
    values = masks[:, None].float()  # (B, 1, H, W); labels are exact in float32 below 2**24
    if fill is None:
        out = F.grid_sample(values, grid, "nearest", pad_mode, align_corners)
        return out[:, 0].round().long()
    # Shift labels up by one so that zero padding marks the pixels read from outside the input.
    out = F.grid_sample(values + 1.0, grid, "nearest", "zeros", align_corners)
    out = out[:, 0].round().long() - 1
    return out.masked_fill_(out < 0, fill)


def _check_probability(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1], got {value!r}")


def _check_choice(name: str, value: Any, allowed: Sequence[Any]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {list(allowed)}, got {value!r}")


def _as_size(size: int | Sequence[int] | None) -> tuple[int, int] | None:
    if size is None:
        return None
    pair = (size, size) if isinstance(size, int) else tuple(size)
    if len(pair) != 2 or not all(isinstance(n, int) and n > 0 for n in pair):
        raise ValueError(f"size must be a positive int or (height, width), got {size!r}")
    return pair


@register("transform")
class AffineWarp(Transform):
    """Random flip, rotation, zoom and perspective warp of training batches, in one pass.

    Each image draws its own parameters, once per batch, shared by its images, masks and points:
    a flip (probability `p_flip`), a rotation in [-max_rotate, max_rotate] degrees, a zoom in
    [min_zoom, max_zoom] centred at a random point that keeps a zoomed-in view inside the image,
    and a tilt in [-max_warp, max_warp] per axis (see `warp_matrix`); rotation, zoom and warp
    each happen with probability `p_affine` (or their own `p_rotate`, `p_zoom`, `p_warp`).
    Images are resampled with `mode` and `pad_mode`; masks by nearest neighbour, reading
    `mask_fill` outside the input (None: pad like the images); points move with the content and
    may leave [-1, 1]; boxes ("bbox", `(B, N, 4)`) become the upright box around their moved
    corners, clipped to [-1, 1], and those left with no area become padding (zero box, label 0).
    When at most half the batch drew a change (and `size` is None), only those
    images are resampled and the rest are returned as they were; when none did, nothing is.

    Args:
        flip_vert: with `do_flip`, also flip vertically (independently, with `p_flip`).
        size: output `(height, width)` (or one int for a square); None keeps the input size.
            Resizing happens in the same resampling pass, for every image.
        align_corners: as in `F.grid_sample`.
    """

    split_idx = 0
    order = 30

    def __init__(
        self,
        do_flip: bool = True,
        flip_vert: bool = False,
        max_rotate: float = 10.0,
        min_zoom: float = 1.0,
        max_zoom: float = 1.1,
        max_warp: float = 0.2,
        p_affine: float = 0.75,
        size: int | Sequence[int] | None = None,
        mode: str = "bilinear",
        pad_mode: str = "reflection",
        align_corners: bool = True,
        *,
        p_flip: float = 0.5,
        p_rotate: float | None = None,
        p_zoom: float | None = None,
        p_warp: float | None = None,
        mask_fill: int | None = 0,
    ) -> None:
        self.do_flip, self.flip_vert = bool(do_flip), bool(flip_vert)
        self.max_rotate, self.max_warp = float(max_rotate), float(max_warp)
        self.min_zoom, self.max_zoom = float(min_zoom), float(max_zoom)
        self.p_affine, self.p_flip = float(p_affine), float(p_flip)
        self.p_rotate = self.p_affine if p_rotate is None else float(p_rotate)
        self.p_zoom = self.p_affine if p_zoom is None else float(p_zoom)
        self.p_warp = self.p_affine if p_warp is None else float(p_warp)
        self.size = _as_size(size)
        self.mode, self.pad_mode, self.align_corners = mode, pad_mode, bool(align_corners)
        self.mask_fill = mask_fill
        self._validate()
        self._matrix: torch.Tensor | None = None
        self._inverse: torch.Tensor | None = None
        self._index: torch.Tensor | None = None
        self._grids: dict[tuple, torch.Tensor] = {}

    def _validate(self) -> None:
        for name in ("p_affine", "p_flip", "p_rotate", "p_zoom", "p_warp"):
            _check_probability(name, getattr(self, name))
        if self.max_rotate < 0:
            raise ValueError(f"max_rotate must be >= 0 degrees, got {self.max_rotate!r}")
        if not 0 < self.min_zoom <= self.max_zoom:
            raise ValueError(
                f"zoom range must satisfy 0 < min_zoom <= max_zoom, got min_zoom={self.min_zoom!r}"
                f" and max_zoom={self.max_zoom!r}"
            )
        if not 0.0 <= self.max_warp < 0.5:
            # Below 0.5 the projective denominator stays positive over the whole image.
            raise ValueError(f"max_warp must be in [0, 0.5), got {self.max_warp!r}")
        _check_choice("mode", self.mode, IMAGE_MODES)
        _check_choice("pad_mode", self.pad_mode, PAD_MODES)
        if self.mask_fill is not None and not isinstance(self.mask_fill, int):
            raise ValueError(f"mask_fill must be an int label or None, got {self.mask_fill!r}")

    def draw_matrices(
        self, batch_size: int, height: int, width: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Random sampling matrices `(B, 3, 3)` and `(B,)` flags of the images they change.

        Each matrix is flip @ rotation @ zoom @ warp (see the `*_matrix` functions), composed in
        closed form. The uniforms come from one `torch.rand` call on torch's global generator,
        so `torch.manual_seed` reproduces them; the rest is NumPy arithmetic on `B` numbers,
        which costs a fraction of the same steps as small torch operations.
        """
        u = torch.rand(batch_size, 11, dtype=torch.float64).numpy()
        off = np.zeros(batch_size, dtype=bool)
        flip_x = u[:, 0] < self.p_flip if self.do_flip else off
        flip_y = u[:, 1] < self.p_flip if self.do_flip and self.flip_vert else off
        rotate = u[:, 2] < self.p_rotate if self.max_rotate > 0 else off
        zoom = u[:, 4] < self.p_zoom if (self.min_zoom, self.max_zoom) != (1.0, 1.0) else off
        warp = u[:, 8] < self.p_warp if self.max_warp > 0 else off

        radians = np.radians((u[:, 3] * 2 - 1) * self.max_rotate * rotate)
        cos, sin = np.cos(radians), np.sin(radians)
        aspect = self._aspect(height, width)
        scale = np.where(zoom, self.min_zoom + u[:, 5] * (self.max_zoom - self.min_zoom), 1.0)
        reach = np.abs(1.0 - 1.0 / scale)  # keeps a zoomed-in view inside the image
        centre_x, centre_y = (u[:, 6] * 2 - 1) * reach, (u[:, 7] * 2 - 1) * reach
        tilt_x = (u[:, 9] * 2 - 1) * self.max_warp * warp
        tilt_y = (u[:, 10] * 2 - 1) * self.max_warp * warp

        # flip @ rotation @ zoom, whose bottom row is (0, 0, 1) ...
        sign_x, sign_y = np.where(flip_x, -1.0, 1.0), np.where(flip_y, -1.0, 1.0)
        a00, a01 = sign_x * cos / scale, -sign_x * sin / (aspect * scale)
        a10, a11 = sign_y * sin * aspect / scale, sign_y * cos / scale
        a02 = sign_x * (cos * centre_x - sin / aspect * centre_y)
        a12 = sign_y * (sin * aspect * centre_x + cos * centre_y)
        # ... then @ warp, which adds the projective bottom row.
        matrix = np.stack(
            [
                a00 + a02 * tilt_x, a01 + a02 * tilt_y, a02,
                a10 + a12 * tilt_x, a11 + a12 * tilt_y, a12,
                tilt_x, tilt_y, np.ones(batch_size),
            ],
            axis=-1,
        )  # fmt: skip
        changed = flip_x | flip_y | rotate | zoom | warp
        return torch.from_numpy(matrix).float().view(-1, 3, 3), torch.from_numpy(changed)

    def _aspect(self, height: int, width: int) -> float:
        """Pixels per normalized unit along x over those along y (see `rotation_matrix`)."""
        if self.align_corners and min(height, width) > 1:
            return (width - 1) / (height - 1)
        return width / height

    def before_call(self, sample: tuple, kinds: Kinds) -> None:
        """Draw one set of parameters per image of the batch."""
        self._matrix = self._inverse = self._index = None
        self._grids = {}  # one grid per (device, output size), shared by images and masks
        shapes = [
            x.shape for x, kind in zip(sample, kinds, strict=True) if kind in ("image", "mask")
        ]
        points = [x for x, kind in zip(sample, kinds, strict=True) if kind in ("points", BOX_KIND)]
        if not shapes and not points:
            return
        batch_size = shapes[0][0] if shapes else points[0].shape[0]
        height, width = shapes[0][-2:] if shapes else (1, 1)
        matrix, changed = self.draw_matrices(batch_size, height, width)
        self._matrix = matrix
        self._inverse = torch.linalg.inv(matrix.double()).float()
        if self.size is None and not bool(changed.all()):
            # Gathering a subset and scattering it back costs a copy, worth it below one half.
            index = changed.nonzero().flatten()
            self._index = index if 2 * len(index) <= batch_size else None

    def encode(self, x: Any, kind: str) -> Any:
        if self._matrix is None or kind not in GEOMETRIC_KINDS:
            return x
        if kind == "points":
            assert self._inverse is not None, "set together with the matrix"
            return transform_points(x, self._inverse.to(x.device))
        if kind == BOX_KIND:
            assert self._inverse is not None, "set together with the matrix"
            return transform_boxes(x, self._inverse.to(x.device))
        if self._index is None:
            return self._resample(x, kind, self._matrix)
        if len(self._index) == 0:
            return x
        index = self._index.to(x.device)
        out = x.clone()
        out[index] = self._resample(x[index], kind, self._matrix[self._index])
        return out

    def __call__(self, sample: tuple, kinds: Kinds, split_idx: int | None = None) -> tuple:
        """Warp the batch; boxes moved out of the images become padding."""
        return drop_empty_boxes(super().__call__(sample, kinds, split_idx), kinds)

    def _resample(self, x: torch.Tensor, kind: str, matrix: torch.Tensor) -> torch.Tensor:
        size = self.size or (x.shape[-2], x.shape[-1])
        key = (x.device, size)
        if key not in self._grids:
            projective = bool(matrix[:, 2, :2].any())
            self._grids[key] = sampling_grid(
                matrix.to(x.device), size, self.align_corners, projective
            )
        grid = self._grids[key]
        if kind == "mask":
            return resample_masks(x, grid, self.mask_fill, self.pad_mode, self.align_corners)
        if not x.is_floating_point():
            raise TypeError(
                f"AffineWarp needs float images but got {x.dtype}; add IntToFloat to the batch "
                "transforms"
            )
        return F.grid_sample(x, grid.to(x.dtype), self.mode, self.pad_mode, self.align_corners)

    def config(self) -> dict[str, Any]:
        return {
            "do_flip": self.do_flip,
            "flip_vert": self.flip_vert,
            "max_rotate": self.max_rotate,
            "min_zoom": self.min_zoom,
            "max_zoom": self.max_zoom,
            "max_warp": self.max_warp,
            "p_affine": self.p_affine,
            "size": None if self.size is None else list(self.size),
            "mode": self.mode,
            "pad_mode": self.pad_mode,
            "align_corners": self.align_corners,
            "p_flip": self.p_flip,
            "p_rotate": self.p_rotate,
            "p_zoom": self.p_zoom,
            "p_warp": self.p_warp,
            "mask_fill": self.mask_fill,
        }


_IDENTITY_ARGS: dict[str, Any] = {
    "do_flip": False,
    "max_rotate": 0.0,
    "min_zoom": 1.0,
    "max_zoom": 1.0,
    "max_warp": 0.0,
}


def Flip(p: float = 0.5, flip_vert: bool = False) -> AffineWarp:
    """An `AffineWarp` that only flips: horizontally (and vertically if asked), each with `p`."""
    return AffineWarp(**{**_IDENTITY_ARGS, "do_flip": True, "flip_vert": flip_vert, "p_flip": p})


def Rotate(max_deg: float = 10.0, p: float = 0.5, pad_mode: str = "reflection") -> AffineWarp:
    """An `AffineWarp` that only rotates, by up to `max_deg` degrees either way, with `p`."""
    return AffineWarp(
        **{**_IDENTITY_ARGS, "max_rotate": max_deg, "p_affine": p, "pad_mode": pad_mode}
    )


def Zoom(
    min_zoom: float = 1.0, max_zoom: float = 1.1, p: float = 0.5, pad_mode: str = "reflection"
) -> AffineWarp:
    """An `AffineWarp` that only zooms, by a factor in [min_zoom, max_zoom], with `p`."""
    args = {"min_zoom": min_zoom, "max_zoom": max_zoom, "p_affine": p, "pad_mode": pad_mode}
    return AffineWarp(**{**_IDENTITY_ARGS, **args})


def Warp(magnitude: float = 0.2, p: float = 0.5, pad_mode: str = "reflection") -> AffineWarp:
    """An `AffineWarp` that only tilts the perspective, by up to `magnitude`, with `p`."""
    return AffineWarp(
        **{**_IDENTITY_ARGS, "max_warp": magnitude, "p_affine": p, "pad_mode": pad_mode}
    )


def _stages(tfm: AffineWarp) -> dict[str, dict[str, Any]]:
    """The steps `tfm` can take, each with the constructor arguments that describe it."""
    stages = {}
    if tfm.do_flip and tfm.p_flip > 0:
        stages["flip"] = {"do_flip": True, "flip_vert": tfm.flip_vert, "p_flip": tfm.p_flip}
    if tfm.max_rotate > 0 and tfm.p_rotate > 0:
        stages["rotate"] = {"max_rotate": tfm.max_rotate, "p_rotate": tfm.p_rotate}
    if (tfm.min_zoom, tfm.max_zoom) != (1.0, 1.0) and tfm.p_zoom > 0:
        stages["zoom"] = {"min_zoom": tfm.min_zoom, "max_zoom": tfm.max_zoom, "p_zoom": tfm.p_zoom}
    if tfm.max_warp > 0 and tfm.p_warp > 0:
        stages["warp"] = {"max_warp": tfm.max_warp, "p_warp": tfm.p_warp}
    return stages


def _merge(first: AffineWarp, second: AffineWarp) -> AffineWarp | None:
    """One `AffineWarp` doing what `first` then `second` do, or None when they cannot merge."""
    stages_first, stages_second = _stages(first), _stages(second)
    shared = ("mode", "pad_mode", "align_corners", "mask_fill")
    if stages_first.keys() & stages_second.keys():
        return None
    if any(getattr(first, key) != getattr(second, key) for key in shared):
        return None
    if None not in (first.size, second.size) and first.size != second.size:
        return None
    args = {**_IDENTITY_ARGS, **{key: getattr(first, key) for key in shared}}
    args["size"] = first.size or second.size
    for stage in (*stages_first.values(), *stages_second.values()):
        args.update(stage)
    return AffineWarp(**args)


def fuse_affine(tfms: Sequence[Transform]) -> list[Transform]:
    """Transforms sorted by `order`, with neighbouring `AffineWarp`s merged where possible.

    Two merge when they take different steps (e.g. `Flip()` and `Rotate()`) and agree on
    resampling settings; each image then draws the same kinds of random parameters as before
    but is resampled once. Other transforms are returned unchanged.
    """
    fused: list[Transform] = []
    for tfm in sorted(tfms, key=lambda t: t.order):
        previous = fused[-1] if fused else None
        if type(tfm) is AffineWarp and type(previous) is AffineWarp:
            merged = _merge(previous, tfm)
            if merged is not None:
                fused[-1] = merged
                continue
        fused.append(tfm)
    return fused
