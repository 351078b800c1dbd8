"""The data layer: DataLoaders, and (with the data issue) DataBlock, blocks and transforms."""

from lamina.data.loaders import DataLoaders, TensorBatches

__all__ = ["DataLoaders", "TensorBatches"]
