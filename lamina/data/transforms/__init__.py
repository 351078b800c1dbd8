"""Transforms: the protocol, item transforms (run per item) and batch transforms (on device)."""

from lamina.data.transforms.affine import AffineWarp, Flip, Rotate, Warp, Zoom, fuse_affine
from lamina.data.transforms.augment import aug_transforms
from lamina.data.transforms.base import Pipeline, Transform
from lamina.data.transforms.batch import IntToFloat, Normalize, imagenet_stats
from lamina.data.transforms.erasing import RandomErasing
from lamina.data.transforms.item import CropPad, RandomResizedCrop, Resize, ToTensor
from lamina.data.transforms.item_affine import ItemAffineResize
from lamina.data.transforms.lighting import Lighting

__all__ = [
    "AffineWarp",
    "CropPad",
    "Flip",
    "IntToFloat",
    "ItemAffineResize",
    "Lighting",
    "Normalize",
    "Pipeline",
    "RandomErasing",
    "RandomResizedCrop",
    "Resize",
    "Rotate",
    "ToTensor",
    "Transform",
    "Warp",
    "Zoom",
    "aug_transforms",
    "fuse_affine",
    "imagenet_stats",
]
