"""Reading image files into PIL images, and moving images between PIL and tensors.

Every reading error (missing, empty, truncated or non-image file) surfaces as one exception,
`ImageReadError`, naming the file and Pillow's reason, so a data pipeline can report or skip bad
items. Nothing here changes Pillow's global settings: truncated files raise rather than load
half-grey.

Pillow is imported inside the functions so that `import lamina` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:
    from PIL import Image

PathLike = str | Path

IMAGE_MODES = ("RGB", "L")
_SIXTEEN_BIT = ("I;16", "I;16L", "I;16B", "I;16N", "I")
_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")


class ImageReadError(ValueError):
    """A file could not be read as an image; the message names the file and the cause."""


def _read_errors() -> tuple[type[BaseException], ...]:
    from PIL import Image

    # OSError covers missing, unidentified and truncated files; plugins raise the others.
    return (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError)


def open_image(
    path: PathLike, mode: str = "RGB", draft_size: tuple[int, int] | None = None
) -> Image.Image:
    """Read the image at `path`, decoded and converted to `mode` ("RGB" or "L").

    Args:
        path: the image file.
        mode: "RGB" or "L". Transparent images are composited over white, 16-bit images are
            scaled (not clipped) to 8 bits, palette and CMYK images are converted.
        draft_size: (width, height) of the smallest image the caller needs. JPEGs are then
            decoded at the smallest scale n/8 (n = 1..8; 1, 1/2, 1/4 or 1/8 when Pillow
            decodes) still at least this large in both dimensions, which is several times
            faster for photo-sized files.

    Baseline and progressive JPEGs in YCbCr, RGB or grey are decoded by simplejpeg
    (libjpeg-turbo without Pillow's marker parsing in Python: about twice as fast on small
    files); everything else, and any file simplejpeg rejects or warns about, goes through
    Pillow, so errors are always Pillow's. Pillow's pixel limit (`PIL.Image.MAX_IMAGE_PIXELS`,
    set it to change the limit) is checked on the header before any decoder runs: a file
    declaring more than twice the limit raises `ImageReadError` naming it (a decompression
    bomb), one above the limit decodes with Pillow's `DecompressionBombWarning`.

    Raises:
        ImageReadError: the file is missing, empty, truncated or not a readable image.
    """
    if mode not in IMAGE_MODES:
        raise ValueError(f"mode must be one of {IMAGE_MODES}, got {mode!r}")
    fast = _open_jpeg_fast(path, mode, draft_size)
    if fast is not None:
        return fast
    from PIL import Image

    try:
        with Image.open(path) as img:
            if draft_size is not None and img.format == "JPEG":
                img.draft(mode, (int(draft_size[0]), int(draft_size[1])))
            img.load()
            return _convert(img, mode)
    except _read_errors() as error:
        raise ImageReadError(f"cannot read image {str(path)!r}: {error}") from error


_JPEG_MAGIC = b"\xff\xd8\xff"
# simplejpeg's colour spaces that it converts to RGB as Pillow's convert("RGB") does.
_FAST_SOURCES = {"RGB": ("YCbCr", "RGB", "Gray"), "L": ("Gray",)}


def _open_jpeg_fast(
    path: PathLike, mode: str, draft_size: tuple[int, int] | None
) -> Image.Image | None:
    """`path` decoded by simplejpeg when it is a JPEG it handles exactly, else None."""
    try:
        import simplejpeg
    except ImportError:  # an optional speed-up: Pillow reads the same files
        return None
    try:
        with open(path, "rb") as file:
            data = file.read(len(_JPEG_MAGIC))
            if data != _JPEG_MAGIC:  # read no further: Pillow opens other formats itself
                return None
            data += file.read()
        height, width, colorspace, _ = simplejpeg.decode_jpeg_header(data)
        if colorspace not in _FAST_SOURCES[mode] or _over_pixel_limit(width, height):
            return None  # Pillow applies its decompression-bomb check before decoding
        min_width, min_height = draft_size if draft_size is not None else (width, height)
        array = simplejpeg.decode_jpeg(
            data,
            colorspace="GRAY" if mode == "L" else "RGB",
            min_width=int(min_width),
            min_height=int(min_height),
        )
    except (OSError, ValueError):  # Pillow reads it again and names the problem
        return None
    from PIL import Image

    if mode == "L":
        array = array[..., 0]
    return Image.frombuffer(mode, (array.shape[1], array.shape[0]), array, "raw", mode, 0, 1)


def _over_pixel_limit(width: int, height: int) -> bool:
    from PIL import Image

    limit = Image.MAX_IMAGE_PIXELS
    return limit is not None and width * height > limit


def open_mask(path: PathLike) -> Image.Image:
    """Read a segmentation mask, keeping its pixel values as class indices (never converted).

    Palette ("P"), grey ("L") and integer ("I", "I;16") masks are returned as they are; an RGB
    mask is an error, since its colours would need a user-given colour-to-class table.

    Raises:
        ImageReadError: the file is unreadable or not a single-channel image.
    """
    from PIL import Image

    try:
        with Image.open(path) as img:
            img.load()
            mask = img
    except _read_errors() as error:
        raise ImageReadError(f"cannot read mask {str(path)!r}: {error}") from error
    if mask.mode not in ("L", "P", "1", *_SIXTEEN_BIT):
        raise ImageReadError(
            f"cannot read mask {str(path)!r}: mode {mask.mode!r} is not a class-index image "
            "(expected 'L', 'P', 'I' or 'I;16')"
        )
    if mask.mode == "1":
        # A bilevel mask holds classes 0 and 1, not the 0 and 255 that convert("L") gives.
        return Image.fromarray(np.asarray(mask).astype(np.uint8))
    return mask


def image_size(path: PathLike) -> tuple[int, int]:
    """(width, height) of the image at `path`, read from its header without decoding pixels."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            return img.size
    except _read_errors() as error:
        raise ImageReadError(f"cannot read image {str(path)!r}: {error}") from error


def verify_image(path: PathLike) -> None:
    """Raise `ImageReadError` unless `path` decodes as an image.

    Cheap: JPEGs are decoded at 1/8 scale, which still reads (and checks) the whole stream.
    """
    open_image(path, draft_size=(1, 1))


def image_to_tensor(img: Image.Image) -> torch.Tensor:
    """An 8-bit PIL image as a contiguous uint8 tensor (C, H, W); grey images get C = 1."""
    array = np.asarray(img)  # read-only view, (H, W) or (H, W, C)
    if array.dtype != np.uint8:
        raise ValueError(
            f"image_to_tensor expects an 8-bit image, got mode {img.mode!r}; "
            "use open_image to convert it"
        )
    # One copy, straight into a writable (C, H, W) layout.
    array = array[None] if array.ndim == 2 else array.transpose(2, 0, 1)
    return torch.from_numpy(np.array(array, order="C"))


def mask_to_tensor(mask: Image.Image) -> torch.Tensor:
    """A class-index PIL image as an int64 tensor (H, W)."""
    return torch.from_numpy(np.asarray(mask).astype(np.int64))


def tensor_to_image(tensor: torch.Tensor) -> Image.Image:
    """A tensor (C, H, W) or (H, W) as a PIL image: "L" for 1 channel, "RGB" 3, "RGBA" 4.

    Float tensors are read as values in [0, 1]; integer ones as 0..255. Both are clamped.
    """
    from PIL import Image

    if tensor.ndim == 3 and tensor.shape[0] in (1, 3, 4):
        tensor = tensor[0] if tensor.shape[0] == 1 else tensor.permute(1, 2, 0)
    elif tensor.ndim != 2:
        raise ValueError(
            f"expected a tensor (C, H, W) with C in 1, 3, 4, or (H, W); got {tuple(tensor.shape)}"
        )
    tensor = tensor.detach().cpu()
    if tensor.is_floating_point():
        tensor = (tensor * 255).round()
    array = tensor.clamp(0, 255).to(torch.uint8).numpy()
    return Image.fromarray(np.ascontiguousarray(array))


def convert_image(img: Image.Image, mode: str = "RGB") -> Image.Image:
    """An in-memory PIL image in `mode` ("RGB" or "L"), converted as `open_image` converts files.

    16-bit images are scaled to 8 bits, transparent ones composited over white, palette and CMYK
    ones converted. Returns `img` itself when it is already in `mode`.
    """
    if mode not in IMAGE_MODES:
        raise ValueError(f"mode must be one of {IMAGE_MODES}, got {mode!r}")
    return _convert(img, mode)


def _convert(img: Image.Image, mode: str) -> Image.Image:
    """`img` in `mode`, handling 16-bit, palette and transparent sources."""
    if img.mode == mode:
        return img
    if img.mode in _SIXTEEN_BIT:
        img = _sixteen_to_eight(img)
    elif img.mode in ("P", "L", "RGB") and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in _ALPHA_MODES:
        return _over_white(img, mode)
    return img.convert(mode)


def _sixteen_to_eight(img: Image.Image) -> Image.Image:
    """A 16-bit grey image scaled to "L" (65535 -> 255, rounded)."""
    from PIL import Image

    array = np.asarray(img).astype(np.int64).clip(0, 65535)
    return Image.fromarray(((array + 128) // 257).astype(np.uint8))


def _over_white(img: Image.Image, mode: str) -> Image.Image:
    """Composite an image with alpha over an opaque white background, giving `mode`."""
    from PIL import Image

    if img.mode not in ("RGBA", "LA"):
        img = img.convert("RGBA")
    background = Image.new(mode, img.size, 255 if mode == "L" else (255, 255, 255))
    # paste with a mask blends src * alpha + background * (1 - alpha).
    background.paste(img.convert(mode), mask=img.getchannel("A"))
    return background
