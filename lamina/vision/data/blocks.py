"""The image blocks: images, segmentation masks and points, and the type transforms that read them.

Images and masks are *lazy*: the path is kept when the data set is built and the file is read in
`__getitem__`, usually in a worker process. An `ImageBlock` decodes JPEGs at reduced size when the
item transforms allow it (`type_tfms_for`), except when the sample carries points, which are in
the full image's pixels. Blocks also fold the batch warp into the item resize on request
(`arrange_tfms`) and draw their element in `show_batch` (`show`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from lamina.core.registry import register
from lamina.data.blocks import TransformBlock
from lamina.data.transform import Kinds, Transform

if TYPE_CHECKING:
    from matplotlib.axes import Axes


# ----------------------------------------------------------------------------- type transforms
@register("transform")
class OpenImage(Transform):
    """Path (or PIL image, or NumPy array) -> PIL image in `mode`, decoded at reduced size when
    `draft_size` (width, height) allows (JPEG only)."""

    def __init__(self, mode: str = "RGB", draft_size: Sequence[int] | None = None) -> None:
        if mode not in ("RGB", "L"):
            raise ValueError(f"mode must be 'RGB' or 'L', got {mode!r}")
        self.mode = mode
        self.draft_size = None if draft_size is None else (int(draft_size[0]), int(draft_size[1]))

    def encode(self, x: Any, kind: str) -> Any:
        from lamina.vision.data.images import open_image

        if _is_path(x):
            return open_image(x, mode=self.mode, draft_size=self.draft_size)
        return _in_memory_image(x, self.mode)

    def config(self) -> dict[str, Any]:
        draft = None if self.draft_size is None else list(self.draft_size)
        return {"mode": self.mode, "draft_size": draft}


@register("transform")
class OpenMask(Transform):
    """Path (or PIL image, or array) -> PIL image of class indices."""

    def encode(self, x: Any, kind: str) -> Any:
        from lamina.vision.data.images import open_mask

        if _is_path(x):
            return open_mask(x)
        return _in_memory_image(x, None)


def _is_path(x: Any) -> bool:
    return isinstance(x, str) or hasattr(x, "__fspath__")


def _in_memory_image(x: Any, mode: str | None) -> Any:
    """A PIL image, NumPy array (H, W[, C]) or tensor (C, H, W) as a PIL image in `mode`."""
    from PIL import Image

    from lamina.vision.data.images import convert_image, tensor_to_image

    if isinstance(x, torch.Tensor):
        x = tensor_to_image(x)
    elif not isinstance(x, Image.Image):
        try:
            x = Image.fromarray(np.asarray(x))
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"expected an image path, PIL image, array or tensor, got {type(x).__name__}: "
                f"{error}"
            ) from None
    # The same conversions as files get (16-bit, palette, alpha over white, CMYK).
    return x if mode is None else convert_image(x, mode)


@register("transform")
class ToPoints(Transform):
    """Coordinates -> float tensor (N, 2) of (x, y) pixel positions."""

    def encode(self, x: Any, kind: str) -> torch.Tensor:
        points = torch.as_tensor(x, dtype=torch.float32)
        if points.ndim == 1 and points.numel() % 2 == 0:
            points = points.view(-1, 2)
        if points.ndim != 2 or points.shape[1] != 2:
            raise ValueError(f"points must have shape (N, 2), got {tuple(points.shape)}")
        return points


@register("block")
class ImageBlock(TransformBlock):
    """An image read from a path, as RGB or grey ("L"); a uint8 tensor (C, H, W) after the item
    transforms and a float in [0, 1] after the batch transforms."""

    kind = "image"
    lazy = True

    def __init__(self, mode: str = "RGB") -> None:
        super().__init__()
        if mode not in ("RGB", "L"):
            raise ValueError(f"mode must be 'RGB' or 'L', got {mode!r}")
        self.mode = mode

    def type_tfms(self) -> list[Transform]:
        return [OpenImage(self.mode)]

    def type_tfms_for(self, item_tfms: Sequence[Transform], kinds: Kinds) -> list[Transform]:
        # Points and boxes are in the full image's pixels, so images carrying them decode at
        # full size.
        full_size = "points" in kinds or "bbox" in kinds
        draft_size = None if full_size else draft_hint(item_tfms)
        return [OpenImage(self.mode, draft_size)]

    def item_tfms(self) -> list[Transform]:
        from lamina.vision.transforms.resize import ToTensor

        return [ToTensor()]

    def batch_tfms(self) -> list[Transform]:
        from lamina.vision.transforms.normalize import IntToFloat

        return [IntToFloat()]

    def arrange_tfms(
        self,
        item_tfms: Sequence[Transform],
        batch_tfms: Sequence[Transform],
        device: torch.device | None,
        fuse_augment: bool | str = False,
    ) -> tuple[list[Transform], list[Transform]]:
        from lamina.vision.transforms.affine import fuse_affine
        from lamina.vision.transforms.item_affine import fuse_augment_tfms

        # Neighbouring affine steps (flip, rotate, zoom, warp) fuse into one resampling pass.
        batch_tfms = fuse_affine(list(batch_tfms))
        if device is None:
            return list(item_tfms), batch_tfms
        return fuse_augment_tfms(list(item_tfms), batch_tfms, fuse_augment, device)

    def verify(self, value: Any) -> None:
        if _is_path(value):
            from lamina.vision.data.images import verify_image

            verify_image(value)

    def unequal_shapes_message(self, examples: list[tuple[str, tuple[int, ...]]]) -> str:
        return unequal_sizes_message("images", examples)

    def describe(self, value: Any) -> str | None:
        return _describe_image(value)

    def show(self, ax: Axes, value: Any, context: dict[str, Any]) -> str | None:
        from lamina.vision.data.show import draw_image

        context["size"] = draw_image(ax, value)
        return None

    def config(self) -> dict[str, Any]:
        return {"mode": self.mode}


@register("block")
class MaskBlock(TransformBlock):
    """A segmentation mask of class indices, moving with its image; `codes` names the classes."""

    kind = "mask"
    lazy = True
    loss_name = "cross_entropy_flat"
    loss_kwargs = {"axis": 1}  # noqa: RUF012
    activation = "softmax"

    def __init__(self, codes: Sequence[Any] | None = None) -> None:
        super().__init__()
        self.codes = None if codes is None else list(codes)

    def type_tfms(self) -> list[Transform]:
        return [OpenMask()]

    def item_tfms(self) -> list[Transform]:
        from lamina.vision.transforms.resize import ToTensor

        return [ToTensor()]

    def verify(self, value: Any) -> None:
        ImageBlock.verify(self, value)  # type: ignore[arg-type]

    def unequal_shapes_message(self, examples: list[tuple[str, tuple[int, ...]]]) -> str:
        return unequal_sizes_message("masks", examples)

    def describe(self, value: Any) -> str | None:
        return _describe_image(value)

    def show(self, ax: Axes, value: Any, context: dict[str, Any]) -> str | None:
        from lamina.vision.data.show import draw_mask

        draw_mask(ax, value)
        return None

    def n_out(self, type_tfms: Sequence[Transform], example: Any) -> int | None:
        return None if self.codes is None else len(self.codes)

    def config(self) -> dict[str, Any]:
        return {"codes": self.codes}


@register("block")
class PointBlock(TransformBlock):
    """Points (N, 2) of (x, y) pixel coordinates, moving with their image; [-1, 1] once tensors."""

    kind = "points"
    loss_name = "mse_flat"

    def type_tfms(self) -> list[Transform]:
        return [ToPoints()]

    def show(self, ax: Axes, value: Any, context: dict[str, Any]) -> str | None:
        from lamina.vision.data.show import draw_points

        draw_points(ax, value, context.get("size"))
        return None

    def config(self) -> dict[str, Any]:
        return {}


def draft_hint(tfms: Sequence[Transform]) -> tuple[int, int] | None:
    """The largest `draft_size()` any item transform asks for: (width, height), or None."""
    sizes = [size for tfm in tfms if hasattr(tfm, "draft_size")
             for size in [tfm.draft_size()] if size is not None]  # fmt: skip
    if not sizes:
        return None
    return max(size[0] for size in sizes), max(size[1] for size in sizes)


def unequal_sizes_message(what: str, examples: list[tuple[str, tuple[int, ...]]]) -> str:
    """Images (or masks) of one batch differ in size: name the files and sizes, give the fix.

    `examples`: one `(file, shape)` per distinct shape, shapes (C, H, W) or (H, W).
    """
    shown = ", ".join(f"{name} {_size_text(shape)}" for name, shape in examples[:4])
    more = f" (and {len(examples) - 4} other sizes)" if len(examples) > 4 else ""
    return (
        f"{what} of one batch differ in size and cannot be stacked (width x height): "
        f"{shown}{more}; add "
        "item_tfms=Resize(size) (or RandomResizedCrop(size)) to the DataBlock or loaders so "
        f"that all {what} have one size"
    )


def _size_text(shape: tuple[int, ...]) -> str:
    if len(shape) < 2:
        return f"of shape {shape}"
    height, width = shape[-2:]
    return f"{width}x{height}"


def _describe_image(value: Any) -> str | None:
    if hasattr(value, "mode") and hasattr(value, "size") and hasattr(value, "getbands"):
        return f"PIL image mode={value.mode} size={value.size}"
    return None
