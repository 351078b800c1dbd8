"""The image side of the data layer: reading images, the image blocks (boxes for detection
included), COCO annotations and the image loaders."""

from lamina.vision.data.blocks import (
    ImageBlock,
    MaskBlock,
    OpenImage,
    OpenMask,
    PointBlock,
    ToPoints,
)
from lamina.vision.data.boxes import BBoxBlock, BBoxLblBlock, BoxLabels, ToBoxes
from lamina.vision.data.coco import get_annotations
from lamina.vision.data.files import IMAGE_EXTENSIONS, get_image_files
from lamina.vision.data.images import open_image
from lamina.vision.data.loaders import ImageDataLoaders, SegmentationDataLoaders

__all__ = [
    "BBoxBlock",
    "BBoxLblBlock",
    "BoxLabels",
    "IMAGE_EXTENSIONS",
    "ImageBlock",
    "ImageDataLoaders",
    "MaskBlock",
    "OpenImage",
    "OpenMask",
    "PointBlock",
    "SegmentationDataLoaders",
    "ToBoxes",
    "ToPoints",
    "get_annotations",
    "get_image_files",
    "open_image",
]
