"""Loaders over block-built data sets, the `BlockDataLoaders` holding them, and inference.

`BlockDataLoader` wraps a torch `DataLoader` (worker processes, default collate, pinned memory
on CUDA, persistent workers) and adds the batch stage: each collated batch is moved to the device
and the batch transforms run there, on the whole batch. Seeding gives the same batch order and
the same random augmentations; everything handed to workers is picklable (no lambdas), so
workers started by spawn work too.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import torch

from lamina.core.device import default_device, to_device
from lamina.core.registry import registered_name
from lamina.data.datasets import Datasets, ItemDataset
from lamina.data.loaders import DataLoaders
from lamina.data.transforms.base import (
    Pipeline,
    Transform,
    transform_from_config,
    transform_to_config,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

EXPORT_FORMAT = "lamina-data"
EXPORT_VERSION = 1


def decode_types(sample: tuple, kinds: Sequence[str], type_tfms: Sequence[Sequence[Transform]]):
    """Undo the type transforms of each element (indices back to labels)."""
    decoded = []
    for value, kind, tfms in zip(sample, kinds, type_tfms, strict=False):
        for tfm in reversed(tfms):
            value = tfm.decode(value, kind)
        decoded.append(value)
    return tuple(decoded)


class CollateThenTransform:
    """Collate samples into a batch, then run the batch transforms (used inside workers)."""

    def __init__(self, batch_tfms: Pipeline, kinds: Sequence[str], split_idx: int | None) -> None:
        self.batch_tfms, self.kinds, self.split_idx = batch_tfms, tuple(kinds), split_idx

    def __call__(self, samples: list[tuple]) -> tuple:
        batch = tuple(torch.utils.data.default_collate(samples))
        return self.batch_tfms(batch, self.kinds, self.split_idx)


class BlockDataLoader:
    """Batches of a data set: collated by torch, moved to `device`, batch-transformed there.

    Args:
        dataset: an `ItemDataset` (its `split_idx` also selects the batch transforms to run).
        bs: batch size. `shuffle`, `drop_last`: as in torch.
        num_workers: worker processes reading items (0: in this process).
        device: where batches go (default: the best device present).
        batch_tfms: the batch pipeline, run on the device.
        seed: fixes the batch order and the random augmentations of every epoch. A seeded
            training loader reseeds torch's and Python's global generators from its own at the
            start of each epoch, since augmentations in this process draw from them.
        type_tfms: per element, the fitted type transforms, used by `decode`.
        multiprocessing_context: e.g. "spawn"; None for the platform default.
        batch_tfms_in_workers: run the batch transforms in the worker processes, right after
            collation. None (default): when the device is the CPU and `num_workers > 0`, since
            the CPU *is* then the device and the workers spread the work over its cores instead
            of leaving it all to the main process.
    """

    def __init__(
        self,
        dataset: ItemDataset,
        bs: int = 64,
        shuffle: bool = False,
        drop_last: bool = False,
        num_workers: int = 0,
        device: torch.device | str | None = None,
        batch_tfms: Pipeline | None = None,
        seed: int | None = None,
        type_tfms: Sequence[Sequence[Transform]] | None = None,
        multiprocessing_context: str | None = None,
        batch_tfms_in_workers: bool | None = None,
    ) -> None:
        if not (isinstance(bs, int) and bs >= 1):
            raise ValueError(f"bs must be a positive integer, got {bs!r}")
        if not (isinstance(num_workers, int) and num_workers >= 0):
            raise ValueError(f"num_workers must be a non-negative integer, got {num_workers!r}")
        self.dataset, self.bs, self.shuffle, self.drop_last = dataset, bs, shuffle, drop_last
        self.num_workers, self.seed = num_workers, seed
        self.device = torch.device(device) if device is not None else default_device()
        self.batch_tfms = batch_tfms if batch_tfms is not None else Pipeline()
        self.type_tfms = [list(t) for t in (type_tfms or [[] for _ in dataset.kinds])]
        self.multiprocessing_context = multiprocessing_context
        self.kinds, self.split_idx = dataset.kinds, dataset.split_idx
        self._in_workers_asked = batch_tfms_in_workers
        if batch_tfms_in_workers is None:
            batch_tfms_in_workers = self.device.type == "cpu"
        self.batch_tfms_in_workers = batch_tfms_in_workers and num_workers > 0
        self.generator = None if seed is None else torch.Generator().manual_seed(seed)
        self._torch_loader: torch.utils.data.DataLoader | None = None

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.bs if self.drop_last else math.ceil(n / self.bs)

    def _loader(self) -> torch.utils.data.DataLoader:
        # Built once and kept, so persistent workers survive from one epoch to the next.
        if self._torch_loader is None:
            workers = self.num_workers > 0
            collate = (
                CollateThenTransform(self.batch_tfms, self.kinds, self.split_idx)
                if self.batch_tfms_in_workers
                else torch.utils.data.default_collate
            )
            self._torch_loader = torch.utils.data.DataLoader(
                self.dataset,
                batch_size=self.bs,
                shuffle=self.shuffle,
                drop_last=self.drop_last,
                num_workers=self.num_workers,
                generator=self.generator,
                collate_fn=collate,
                pin_memory=self.device.type == "cuda",
                persistent_workers=workers,
                multiprocessing_context=self.multiprocessing_context if workers else None,
            )
        return self._torch_loader

    def _reseed(self) -> None:
        # Random item transforms in this process and batch transforms on the device draw from the
        # global generators: seed them from this loader's generator at each epoch's start, so a
        # seed repeats the augmentations too, and each epoch still differs. (Workers are seeded
        # by torch from the same generator.)
        epoch_seed = int(torch.randint(0, 2**31 - 1, (1,), generator=self.generator))
        torch.manual_seed(epoch_seed)
        random.seed(epoch_seed)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        if self.generator is not None and self.split_idx == 0:
            self._reseed()
        for batch in self._loader():
            batch = to_device(tuple(batch), self.device)
            if not self.batch_tfms_in_workers:
                batch = self.batch_tfms(batch, self.kinds, self.split_idx)
            yield batch

    def one_batch(self) -> tuple[torch.Tensor, ...]:
        """The first batch."""
        for batch in self:
            return batch
        raise ValueError("this DataLoader yields no batches (empty data set, or bs > its size)")

    def decode(self, batch: tuple) -> tuple:
        """Undo the batch transforms (e.g. back to uint8 pixels) and map indices to labels."""
        batch = self.batch_tfms.decode(tuple(batch), self.kinds)
        return decode_types(batch, self.kinds, self.type_tfms)

    def show_batch(self, max_n: int = 9, ncols: int = 3, batch: tuple | None = None) -> Figure:
        """Plot up to `max_n` samples as the model sees them (un-normalized); returns the figure."""
        from lamina.data.show import show_samples

        batch = self.one_batch() if batch is None else batch
        return show_samples(self.decode(batch), self.kinds, max_n=max_n, ncols=ncols)

    def new(self, **changes: Any) -> BlockDataLoader:
        """A copy with some settings changed, e.g. `new(shuffle=False, drop_last=False)`."""
        settings = {
            "dataset": self.dataset,
            "bs": self.bs,
            "shuffle": self.shuffle,
            "drop_last": self.drop_last,
            "num_workers": self.num_workers,
            "device": self.device,
            "batch_tfms": self.batch_tfms,
            "seed": self.seed,
            "type_tfms": self.type_tfms,
            "multiprocessing_context": self.multiprocessing_context,
            "batch_tfms_in_workers": self._in_workers_asked,
        }
        unknown = set(changes) - set(settings)
        if unknown:
            raise ValueError(f"unknown settings {sorted(unknown)}; allowed: {sorted(settings)}")
        settings.update(changes)
        return BlockDataLoader(**settings)

    def __repr__(self) -> str:
        return (
            f"BlockDataLoader({len(self.dataset)} items, bs={self.bs}, shuffle={self.shuffle}, "
            f"num_workers={self.num_workers}, device={self.device})"
        )


class BlockDataLoaders(DataLoaders):
    """Training and validation `BlockDataLoader`s, and what the blocks say about the data.

    Attributes:
        kinds, n_inp: one kind per batch element; the first `n_inp` are the model's inputs.
        vocab: the first target's labels in index order (None if it has none).
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
        super().__init__(train, valid, device=device, n_inp=datasets.n_inp)
        self.datasets, self.item_tfms, self.batch_tfms = datasets, item_tfms, batch_tfms
        self.kinds, self.vocab, self.skipped = datasets.kinds, datasets.vocab, datasets.skipped
        target = datasets.blocks[self.n_inp] if len(datasets.blocks) > self.n_inp else None
        self.loss_name = None if target is None else target.loss_name
        self.loss_kwargs = {} if target is None else dict(target.loss_kwargs)
        self.activation = None if target is None else target.activation
        self.metric_names = [] if target is None else list(target.metric_names)
        self.c = None
        if target is not None and len(datasets.train):
            example = datasets.train.samples[0][self.n_inp]
            self.c = target.n_out(datasets.type_tfms[self.n_inp], example)

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
        }
        train = BlockDataLoader(
            datasets.train, bs=bs, shuffle=shuffle, drop_last=drop_last, seed=seed, **common
        )
        valid = None
        if len(datasets.valid):
            valid = BlockDataLoader(datasets.valid, bs=val_bs or bs, **common)
        return cls(train, valid, datasets, datasets.train.item_tfms, batch_tfms, device)

    def one_batch(self, ds_idx: int = 0) -> tuple[torch.Tensor, ...]:
        """The first batch of the training (0) or validation (1) loader, batch-transformed."""
        return self[ds_idx].one_batch()

    def decode(self, batch: tuple) -> tuple:
        """Undo the batch transforms of `batch` and map indices to labels."""
        return self.train.decode(batch)

    def show_batch(self, max_n: int = 9, ncols: int = 3, ds_idx: int = 0) -> Figure:
        """Plot up to `max_n` training samples (un-normalized, labelled); returns the figure.

        In Jupyter the returned figure shows inline; in a script, `fig.savefig("batch.png")`.
        """
        return self[ds_idx].show_batch(max_n=max_n, ncols=ncols)

    def test_dl(
        self, items: Sequence[Any], with_labels: bool = False, bs: int | None = None
    ) -> BlockDataLoader:
        """An inference loader over new `items` (paths, rows...) with the validation transforms.

        Batches hold the inputs only, unless `with_labels` (then the getters label them too).
        """
        dataset = self.datasets.new(items, with_labels=with_labels)
        return BlockDataLoader(
            dataset,
            bs=bs or self.train.bs,
            device=self.device,
            batch_tfms=self.batch_tfms,
            type_tfms=self.datasets.type_tfms,
        )

    def export_config(self) -> dict[str, Any]:
        """The inference pipeline as JSON: blocks, type/item/batch transforms, vocab, n_inp."""
        blocks = [
            {"name": registered_name("block", block), "args": block.config()}
            for block in self.datasets.blocks
        ]
        return {
            "format": EXPORT_FORMAT,
            "format_version": EXPORT_VERSION,
            "kinds": list(self.kinds),
            "n_inp": self.n_inp,
            "blocks": blocks,
            "type_tfms": [
                [transform_to_config(tfm) for tfm in tfms] for tfms in self.datasets.type_tfms
            ],
            "item_tfms": self.item_tfms.to_config(),
            "batch_tfms": self.batch_tfms.to_config(),
            "vocab": self.vocab,
            "c": self.c,
            "loss_name": self.loss_name,
            "loss_kwargs": self.loss_kwargs,
            "activation": self.activation,
            "metric_names": self.metric_names,
        }


class InferencePipeline:
    """Preprocessing rebuilt from `BlockDataLoaders.export_config()`: raw inputs -> a batch.

    Inputs are what the getters produced during training: an image path, a PIL image or an array
    for an image block (a tuple of them when there are several inputs).

    Example:
        >>> pipe = InferencePipeline.from_config(dls.export_config())
        >>> (xb,) = pipe.batch(["cat.jpg"])        # (1, C, H, W) on the device, normalized
        >>> pipe.decode_target(torch.tensor(2))    # index -> label
    """

    def __init__(
        self,
        kinds: Sequence[str],
        n_inp: int,
        type_tfms: Sequence[Sequence[Transform]],
        item_tfms: Pipeline,
        batch_tfms: Pipeline,
        device: torch.device | str | None = None,
    ) -> None:
        self.kinds, self.n_inp = tuple(kinds), n_inp
        self.type_tfms = [list(tfms) for tfms in type_tfms]
        self.item_tfms, self.batch_tfms = item_tfms, batch_tfms
        self.device = torch.device(device) if device is not None else default_device()

    @classmethod
    def from_config(
        cls, config: dict[str, Any], device: torch.device | str | None = None
    ) -> InferencePipeline:
        """Rebuild from JSON, looking every transform up by registered name (no code is run)."""
        if config.get("format") != EXPORT_FORMAT:
            raise ValueError(f"not a lamina data config (format {config.get('format')!r})")
        version = config.get("format_version")
        if not isinstance(version, int) or version > EXPORT_VERSION:
            raise ValueError(f"data config version {version!r} is newer than this lamina reads")
        type_tfms = [[transform_from_config(item) for item in tfms] for tfms in config["type_tfms"]]
        return cls(
            config["kinds"],
            int(config["n_inp"]),
            type_tfms,
            Pipeline.from_config(config["item_tfms"]),
            Pipeline.from_config(config["batch_tfms"]),
            device,
        )

    def dataset(self, items: Sequence[Any]) -> ItemDataset:
        """A validation-mode data set over raw inputs."""
        samples = [tuple(item) if self.n_inp > 1 else (item,) for item in items]
        names = [str(item) if not hasattr(item, "shape") else f"input {i}"
                 for i, item in enumerate(items)]  # fmt: skip
        kinds = self.kinds[: self.n_inp]
        return ItemDataset(samples, names, kinds, self.type_tfms[: self.n_inp], self.item_tfms, 1)

    def batch(self, items: Sequence[Any]) -> tuple[torch.Tensor, ...]:
        """Raw inputs -> the model's input batch, on the device, batch-transformed."""
        if not len(items):
            raise ValueError("batch needs at least one item")
        dataset = self.dataset(items)
        batch = torch.utils.data.default_collate([dataset[i] for i in range(len(dataset))])
        batch = to_device(tuple(batch), self.device)
        return self.batch_tfms(batch, self.kinds[: self.n_inp], 1)

    def one(self, item: Any) -> tuple[torch.Tensor, ...]:
        """One raw input (a path, PIL image or array) -> a batch of one."""
        return self.batch([item])

    def decode_target(self, value: Any, element: int | None = None) -> Any:
        """A target value (index, multi-hot, ...) -> its label(s), for target `element`."""
        element = self.n_inp if element is None else element
        for tfm in reversed(self.type_tfms[element]):
            value = tfm.decode(value, self.kinds[element])
        return value
