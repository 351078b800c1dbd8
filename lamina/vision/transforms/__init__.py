"""Image transforms: item transforms (resizing, run per item) and batch transforms (augmentation
and normalization, on the device). The protocol they follow is `lamina.data.transform`."""

from lamina.vision.transforms.affine import AffineWarp, Flip, Rotate, Warp, Zoom, fuse_affine
from lamina.vision.transforms.augment import aug_transforms
from lamina.vision.transforms.erasing import RandomErasing
from lamina.vision.transforms.item_affine import ItemAffineResize
from lamina.vision.transforms.lighting import Lighting
from lamina.vision.transforms.normalize import IntToFloat, Normalize, imagenet_stats
from lamina.vision.transforms.resize import CropPad, RandomResizedCrop, Resize, ToTensor

__all__ = [
    "AffineWarp",
    "CropPad",
    "Flip",
    "IntToFloat",
    "ItemAffineResize",
    "Lighting",
    "Normalize",
    "RandomErasing",
    "RandomResizedCrop",
    "Resize",
    "Rotate",
    "ToTensor",
    "Warp",
    "Zoom",
    "aug_transforms",
    "fuse_affine",
    "imagenet_stats",
]
