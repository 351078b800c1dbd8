"""`aug_transforms`: the default set of batch augmentations for images."""

from __future__ import annotations

from collections.abc import Sequence

from lamina.data.transform import Transform
from lamina.vision.transforms.affine import AffineWarp, fuse_affine
from lamina.vision.transforms.lighting import Lighting


def aug_transforms(
    mult: float = 1.0,
    do_flip: bool = True,
    flip_vert: bool = False,
    max_rotate: float = 10.0,
    min_zoom: float = 1.0,
    max_zoom: float = 1.1,
    max_lighting: float = 0.2,
    max_warp: float = 0.2,
    p_affine: float = 0.75,
    p_lighting: float = 0.75,
    xtra_tfms: Sequence[Transform] | None = None,
    size: int | Sequence[int] | None = None,
    mode: str = "bilinear",
    pad_mode: str = "reflection",
) -> list[Transform]:
    """A strong default augmentation set: one `AffineWarp` and one `Lighting`, plus `xtra_tfms`.

    All geometry (flip, rotation, zoom, warp, resizing to `size`) is one `AffineWarp`, so the
    batch is resampled once; `AffineWarp`s among `xtra_tfms` are merged into it where they can
    be (see `fuse_affine`). A step whose magnitude is zero is left out.

    Horizontal flips suit photos; for digits, letters and anything whose mirror image means
    something else, pass `do_flip=False` (on MNIST, flips cost several points of accuracy).

    Args:
        mult: scales `max_rotate`, `max_lighting` and `max_warp`.

    Example:
        >>> tfms = aug_transforms(max_rotate=15.0, size=224)
        >>> [type(t).__name__ for t in tfms]
        ['AffineWarp', 'Lighting']
    """
    if not mult >= 0:
        raise ValueError(f"mult must be >= 0, got {mult!r}")
    tfms: list[Transform] = []
    affine = AffineWarp(
        do_flip=do_flip,
        flip_vert=flip_vert,
        max_rotate=max_rotate * mult,
        min_zoom=min_zoom,
        max_zoom=max_zoom,
        max_warp=max_warp * mult,
        p_affine=p_affine,
        size=size,
        mode=mode,
        pad_mode=pad_mode,
    )
    zooms = (affine.min_zoom, affine.max_zoom) != (1.0, 1.0)
    if do_flip or affine.max_rotate > 0 or zooms or affine.max_warp > 0 or size is not None:
        tfms.append(affine)
    if max_lighting * mult > 0:
        tfms.append(Lighting(max_lighting=max_lighting * mult, p_lighting=p_lighting))
    return fuse_affine([*tfms, *(xtra_tfms or [])])
