"""The image side of the data layer: reading images, the image blocks and the image loaders."""

from lamina.vision.data.blocks import (
    ImageBlock,
    MaskBlock,
    OpenImage,
    OpenMask,
    PointBlock,
    ToPoints,
)
from lamina.vision.data.files import IMAGE_EXTENSIONS, get_image_files
from lamina.vision.data.images import open_image
from lamina.vision.data.loaders import ImageDataLoaders, SegmentationDataLoaders

__all__ = [
    "IMAGE_EXTENSIONS",
    "ImageBlock",
    "ImageDataLoaders",
    "MaskBlock",
    "OpenImage",
    "OpenMask",
    "PointBlock",
    "SegmentationDataLoaders",
    "ToPoints",
    "get_image_files",
    "open_image",
]
