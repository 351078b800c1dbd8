"""The data layer every application shares.

Finding items (`get_files`, getters), splitting them (splitters), labelling them (blocks and one
`Vocab`), map-style data sets (`Datasets`), the block and transform machinery (`DataBlock`,
`TransformBlock`, `Transform`, `Pipeline`), the loaders and their contract (`Loaders`,
`DataLoaders`, `BlockDataLoader(s)`, `TensorBatches`), inference preprocessing rebuilt from JSON
(`InferencePipeline`) and downloads. Nothing here knows about images, tables, ratings or words:
each application (`lamina.vision`, `lamina.tabular`, ...) brings its own blocks and transforms
through the hooks of `TransformBlock`.
"""

from lamina.data.block_dataloaders import BlockDataLoaders
from lamina.data.block_loader import BlockDataLoader
from lamina.data.blocks import CategoryBlock, MultiCategoryBlock, RegressionBlock, TransformBlock
from lamina.data.collate_check import UnequalShapesError
from lamina.data.datablock import DataBlock
from lamina.data.getters import (
    ColReader,
    FileGetter,
    RegexLabeller,
    get_files,
    grandparent_label,
    parent_label,
)
from lamina.data.inference import InferencePipeline
from lamina.data.item_dataset import Datasets, ItemDataset, ItemError
from lamina.data.loaders import DataLoaders, Loaders, TargetInfo, target_labels
from lamina.data.splitters import (
    ColSplitter,
    FuncSplitter,
    GrandparentSplitter,
    IndexSplitter,
    RandomSplitter,
    TrainTestSplitter,
)
from lamina.data.tensor_batches import TensorBatches
from lamina.data.transform import Pipeline, Transform
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
    "FileGetter",
    "FuncSplitter",
    "GrandparentSplitter",
    "IndexSplitter",
    "InferencePipeline",
    "ItemDataset",
    "ItemError",
    "Loaders",
    "MultiCategoryBlock",
    "Pipeline",
    "RandomSplitter",
    "RegexLabeller",
    "RegressionBlock",
    "TargetInfo",
    "target_labels",
    "TensorBatches",
    "TrainTestSplitter",
    "Transform",
    "TransformBlock",
    "UnequalShapesError",
    "Vocab",
    "get_files",
    "grandparent_label",
    "parent_label",
]
