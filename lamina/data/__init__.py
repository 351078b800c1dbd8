"""The data layer: DataBlock, blocks, getters, splitters, loaders and transforms."""

from lamina.data.batches import BlockDataLoader, BlockDataLoaders, InferencePipeline
from lamina.data.block import DataBlock
from lamina.data.blocks import (
    CategoryBlock,
    ImageBlock,
    MaskBlock,
    MultiCategoryBlock,
    PointBlock,
    RegressionBlock,
    TransformBlock,
)
from lamina.data.datasets import Datasets, ItemDataset, ItemError
from lamina.data.getters import (
    ColReader,
    RegexLabeller,
    get_files,
    get_image_files,
    grandparent_label,
    parent_label,
)
from lamina.data.loaders import DataLoaders, TensorBatches
from lamina.data.splitters import (
    ColSplitter,
    FuncSplitter,
    GrandparentSplitter,
    IndexSplitter,
    RandomSplitter,
    TrainTestSplitter,
)
from lamina.data.vocab import Vocab

__all__ = [
    "BlockDataLoader",
    "BlockDataLoaders",
    "CategoryBlock",
    "ColReader",
    "ColSplitter",
    "DataBlock",
    "DataLoaders",
    "Datasets",
    "FuncSplitter",
    "GrandparentSplitter",
    "ImageBlock",
    "IndexSplitter",
    "InferencePipeline",
    "ItemDataset",
    "ItemError",
    "MaskBlock",
    "MultiCategoryBlock",
    "PointBlock",
    "RandomSplitter",
    "RegexLabeller",
    "RegressionBlock",
    "TensorBatches",
    "TrainTestSplitter",
    "TransformBlock",
    "Vocab",
    "get_files",
    "get_image_files",
    "grandparent_label",
    "parent_label",
]
