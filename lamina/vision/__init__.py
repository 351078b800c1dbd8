"""The vision application: image data in one call, the image transforms and the blocks."""

from typing import TYPE_CHECKING, Any

from lamina.data.blocks import CategoryBlock, MultiCategoryBlock, RegressionBlock
from lamina.data.datablock import DataBlock
from lamina.data.getters import ColReader, RegexLabeller, grandparent_label, parent_label
from lamina.data.inference import InferenceLoaders
from lamina.data.splitters import (
    ColSplitter,
    FuncSplitter,
    GrandparentSplitter,
    IndexSplitter,
    RandomSplitter,
    TrainTestSplitter,
)
from lamina.vision.data import (
    BBoxBlock,
    BBoxLblBlock,
    ImageBlock,
    ImageDataLoaders,
    MaskBlock,
    PointBlock,
    SegmentationDataLoaders,
    get_annotations,
    get_image_files,
    open_image,
)
from lamina.vision.interpret import (
    ClassificationInterpretation,
    Dice,
    IoU,
    SegmentationInterpretation,
)
from lamina.vision.interpret_multilabel import MultiLabelInterpretation
from lamina.vision.learner import VisionLearner, unet_learner, vision_learner
from lamina.vision.load import build_vision_learner
from lamina.vision.show import show_results
from lamina.vision.transforms import (
    AffineWarp,
    CropPad,
    Flip,
    IntToFloat,
    Lighting,
    Normalize,
    RandomErasing,
    RandomResizedCrop,
    Resize,
    Rotate,
    ToTensor,
    Warp,
    Zoom,
    aug_transforms,
    imagenet_stats,
)
from lamina.vision.tta import tta
from lamina.vision.weights import WeightsSpec, fetch_weights, load_state_dict_file, weights_spec

__all__ = [
    "AffineWarp",
    "BBoxBlock",
    "BBoxLblBlock",
    "CategoryBlock",
    "ColReader",
    "ColSplitter",
    "CropPad",
    "DataBlock",
    "Flip",
    "FuncSplitter",
    "GrandparentSplitter",
    "ImageBlock",
    "ImageDataLoaders",
    "IndexSplitter",
    "IntToFloat",
    "Lighting",
    "MaskBlock",
    "MultiCategoryBlock",
    "Normalize",
    "PointBlock",
    "RandomErasing",
    "RandomResizedCrop",
    "RandomSplitter",
    "RegexLabeller",
    "RegressionBlock",
    "Resize",
    "Rotate",
    "SegmentationDataLoaders",
    "ToTensor",
    "TrainTestSplitter",
    "Warp",
    "Zoom",
    "aug_transforms",
    "fetch_weights",
    "get_annotations",
    "get_image_files",
    "grandparent_label",
    "imagenet_stats",
    "open_image",
    "parent_label",
    "ClassificationInterpretation",
    "Dice",
    "IoU",
    "MultiLabelInterpretation",
    "SegmentationInterpretation",
    "show_results",
    "tta",
    "InferenceLoaders",
    "VisionLearner",
    "WeightsSpec",
    "build_vision_learner",
    "load_state_dict_file",
    "unet_learner",
    "vision_learner",
    "weights_spec",
]


if not TYPE_CHECKING:  # hidden from type checkers, which would otherwise accept any name

    def __getattr__(name: str) -> Any:
        """fastai's names that lamina spells differently: see `lamina.core.fastai_names`."""
        from lamina.core.fastai_names import fastai_name

        return fastai_name(__name__, name)
