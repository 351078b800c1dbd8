"""`BlockDataLoaders`: the training and validation `BlockDataLoader`s of a block-built data set,
with what its blocks say about the data (kinds, vocab, loss, metrics) and the export config
that rebuilds its inference pipeline.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch

from lamina.core.device import default_device
from lamina.core.registry import registered_name
from lamina.data.block_loader import (
    DATA_FORMAT,
    DATA_FORMAT_VERSION,
    BlockDataLoader,
    decode_types,
)
from lamina.data.blocks import TransformBlock
from lamina.data.item_dataset import Datasets, ItemDataset
from lamina.data.loaders import DataLoaders, TargetInfo
from lamina.data.transform import Pipeline, transform_to_config
from lamina.data.vocab import loaders_vocab

if TYPE_CHECKING:
    from matplotlib.figure import Figure


class BlockDataLoaders(DataLoaders):
    """Training and validation `BlockDataLoader`s, and what the blocks say about the data.

    Attributes:
        kinds, n_inp: one kind per batch element; the first `n_inp` are the model's inputs.
        vocab: the vocabulary of each element that has one, in element order, or that one
            alone (fastai's convention; see `loaders_vocab`).
        target_vocab: the first target's labels in index order (None if it has none).
        c: number of model outputs the first target needs (None if unknown).
        loss_name, loss_kwargs, activation, metric_names: what suits the first target, by name.
        skipped: `(item, reason)` for each item left out by `skip_bad_items`.
    """

    def __init__(
        self,
        train: BlockDataLoader,
        valid: BlockDataLoader | None,
        datasets: Datasets,
        item_tfms: Pipeline,
        batch_tfms: Pipeline,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__(
            train, valid, device=device, n_inp=datasets.n_inp, target=_target_info(datasets)
        )
        self.datasets, self.item_tfms, self.batch_tfms = datasets, item_tfms, batch_tfms
        self.kinds, self.skipped = datasets.kinds, datasets.skipped
        self.target_vocab = self.vocab
        self.vocab = loaders_vocab(datasets.type_tfms, self.vocab)

    @classmethod
    def from_datasets(
        cls,
        datasets: Datasets,
        batch_tfms: Pipeline | None = None,
        bs: int = 64,
        val_bs: int | None = None,
        num_workers: int = 0,
        device: torch.device | str | None = None,
        shuffle: bool = True,
        drop_last: bool = False,
        seed: int | None = None,
        multiprocessing_context: str | None = None,
    ) -> BlockDataLoaders:
        """Loaders over `datasets.train` (shuffled) and `datasets.valid`."""
        device = torch.device(device) if device is not None else default_device()
        batch_tfms = batch_tfms if batch_tfms is not None else Pipeline()
        common = {
            "num_workers": num_workers,
            "device": device,
            "batch_tfms": batch_tfms,
            "type_tfms": datasets.type_tfms,
            "multiprocessing_context": multiprocessing_context,
            "blocks": datasets.blocks,
        }
        train_settings = {"bs": bs, "shuffle": shuffle, "drop_last": drop_last, "seed": seed}
        train = _loader_for(datasets, datasets.train, {**common, **train_settings})
        valid = None
        if len(datasets.valid):
            valid = _loader_for(datasets, datasets.valid, {**common, "bs": val_bs or bs})
        return cls(train, valid, datasets, datasets.train.item_tfms, batch_tfms, device)

    def _per_element(self, n: int) -> tuple[list[str], list, list[TransformBlock]]:
        # A block's own loader may yield more elements than there are blocks (a stream's
        # targets are its inputs shifted): those decode and draw like the last block.
        extra = max(0, n - len(self.kinds))
        kinds = [*self.kinds, *[self.kinds[-1]] * extra]
        type_tfms = [*self.datasets.type_tfms, *[self.datasets.type_tfms[-1]] * extra]
        blocks = [*self.datasets.blocks, *[self.datasets.blocks[-1]] * extra]
        return kinds, type_tfms, blocks

    def decode(self, batch: tuple) -> tuple:
        """Undo the batch transforms of `batch` and map indices to labels."""
        kinds, type_tfms, _ = self._per_element(len(batch))
        batch = self.batch_tfms.decode(tuple(batch), tuple(kinds))
        return decode_types(batch, kinds, type_tfms)

    def show_batch(
        self,
        max_n: int = 9,
        ncols: int = 3,
        ds_idx: int = 0,
        shuffle: bool = True,
        seed: int = 0,
        nrows: int | None = None,
        figsize: tuple[float, float] | None = None,
    ) -> Figure:
        """Plot up to `max_n` samples (un-normalized, labelled), each element drawn by its
        block; returns the figure.

        The samples are drawn across the training (`ds_idx` 0) or validation (1) set with
        `seed` (the same seed, the same panels), or with `shuffle=False` are its first items
        in stored order. A loader a block brought shows its first batch.
        `ncols`/`nrows` and `figsize` set the grid. In Jupyter the figure shows once; in a
        script, `fig.savefig(path)`.
        """
        from lamina.data.show import sample_indices, show_samples

        loader = self[ds_idx]
        if isinstance(loader, BlockDataLoader):
            indices = sample_indices(len(loader.dataset), max_n, shuffle, seed)
            batch = loader.items_batch(indices, seed)
        else:
            batch = self.one_batch(ds_idx)
        _, _, blocks = self._per_element(len(batch))
        return show_samples(
            self.decode(batch), blocks, max_n=max_n, ncols=ncols, figsize=figsize, nrows=nrows
        )

    def test_dl(
        self, items: Sequence[Any], with_labels: bool | None = None, bs: int | None = None
    ) -> BlockDataLoader:
        """An inference loader over new `items` (paths, rows...) with the validation transforms.

        Batches hold the inputs only, unless `with_labels` (then the getters label them too).
        """
        dataset = self.datasets.new(items, with_labels=bool(with_labels))
        train_bs: int = getattr(self.train, "bs", 64)
        return BlockDataLoader(
            dataset,
            bs=bs or train_bs,
            device=self.device,
            batch_tfms=self.batch_tfms,
            type_tfms=self.datasets.type_tfms,
            blocks=self.datasets.blocks,
        )

    def export_config(self) -> dict[str, Any]:
        """The inference pipeline as JSON: blocks, type/item/batch transforms, vocab, n_inp."""
        # A block of the user's own that is not registered is recorded without a name; the
        # loaded pipeline then collates that data set by default.
        blocks = [
            {"name": registered_name("block", block), "args": block.config()}
            for block in self.datasets.blocks
        ]
        return {
            "format": DATA_FORMAT,
            "format_version": DATA_FORMAT_VERSION,
            "kinds": list(self.kinds),
            "n_inp": self.n_inp,
            "blocks": blocks,
            "type_tfms": [
                [transform_to_config(tfm) for tfm in tfms] for tfms in self.datasets.type_tfms
            ],
            "item_tfms": self.item_tfms.to_config(),
            "batch_tfms": self.batch_tfms.to_config(),
            "vocab": self.target_vocab,
            "c": self.c,
            "loss_name": self.loss_name,
            "loss_kwargs": self.loss_kwargs,
            "activation": self.activation,
            "metric_names": self.metric_names,
        }


def _target_info(datasets: Datasets) -> TargetInfo:
    """What the first target block calls for (nothing when every element is an input)."""
    if len(datasets.blocks) <= datasets.n_inp:
        own = datasets.blocks[-1].self_target(datasets.type_tfms[-1])
        return own if own is not None else TargetInfo()
    target = datasets.blocks[datasets.n_inp]
    c = None
    if len(datasets.train):
        example = datasets.train.samples[0][datasets.n_inp]
        c = target.n_out(datasets.type_tfms[datasets.n_inp], example)
    return TargetInfo(
        loss_name=target.loss_name,
        loss_kwargs=dict(target.loss_kwargs),
        activation=target.activation,
        metric_names=list(target.metric_names),
        c=c,
        vocab=datasets.vocab,
    )


def _loader_for(datasets: Datasets, dataset: ItemDataset, settings: dict[str, Any]) -> Any:
    """The first loader a block brings for `dataset` (`TransformBlock.dataloader`), else a
    `BlockDataLoader`."""
    for block in datasets.blocks:
        loader = block.dataloader(dataset, settings)
        if loader is not None:
            return loader
    return BlockDataLoader(dataset, **settings)
