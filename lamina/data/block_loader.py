"""`BlockDataLoader`: the loader over one block-built data set (its pair: `block_dataloaders`).

`BlockDataLoader` wraps a torch `DataLoader` (worker processes, the blocks' collation, pinned
memory on CUDA, persistent workers) and adds the batch stage: each collated batch is moved to the
device and the batch transforms run there, on the whole batch. Seeding gives the same batch order
and the same random augmentations; everything handed to workers is picklable (no lambdas), so
workers started by spawn work too.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import torch

from lamina.core.device import default_device, to_device
from lamina.data.blocks import TransformBlock
from lamina.data.collate_check import CheckedCollate
from lamina.data.item_dataset import ItemDataset
from lamina.data.seeded_order import (
    SeededItems,
    SeededOrder,
    batch_seed,
    draw_epoch_seed,
    seeded,
)
from lamina.data.transform import Pipeline, Transform

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DATA_FORMAT = "lamina-data"
DATA_FORMAT_VERSION = 1


def decode_types(sample: tuple, kinds: Sequence[str], type_tfms: Sequence[Sequence[Transform]]):
    """Undo the type transforms of each element (indices back to labels)."""
    decoded = []
    for value, kind, tfms in zip(sample, kinds, type_tfms, strict=False):
        for tfm in reversed(tfms):
            value = tfm.decode(value, kind)
        decoded.append(value)
    return tuple(decoded)


class BlockCollate:
    """Collate samples element by element, each with its block's `collate` (picklable)."""

    def __init__(self, blocks: Sequence[TransformBlock]) -> None:
        self.blocks = list(blocks)

    def __call__(self, samples: list[tuple]) -> tuple:
        columns = zip(*samples, strict=True)
        return tuple(block.collate(list(values))
                     for block, values in zip(self.blocks, columns, strict=True))  # fmt: skip


def collate_for(blocks: Sequence[TransformBlock] | None) -> Callable[[list[tuple]], Any]:
    """The collate function for samples of these blocks: torch's `default_collate` when no block
    brings its own (the fast path), else a `BlockCollate`; either way inside a
    `CheckedCollate`, which names the items when their shapes differ."""
    if blocks is None or all(block.collates_by_stacking for block in blocks):
        return CheckedCollate(torch.utils.data.default_collate, blocks)
    return CheckedCollate(BlockCollate(blocks), blocks)


class CollateThenTransform:
    """Collate samples into a batch, then run the batch transforms (used inside workers)."""

    def __init__(
        self,
        collate: Callable[[list[tuple]], Any],
        batch_tfms: Pipeline,
        kinds: Sequence[str],
        split_idx: int | None,
    ) -> None:
        self.collate, self.batch_tfms = collate, batch_tfms
        self.kinds, self.split_idx = tuple(kinds), split_idx

    def __call__(self, samples: list[tuple]) -> tuple:
        batch = tuple(self.collate(samples))
        return self.batch_tfms(batch, self.kinds, self.split_idx)


class BlockDataLoader:
    """Batches of a data set: collated by torch, moved to `device`, batch-transformed there.

    Args:
        dataset: an `ItemDataset` (its `split_idx` also selects the batch transforms to run).
        bs: batch size. `shuffle`, `drop_last`: as in torch, except that a training loader
            drops a last batch of a single item (it would break batch normalization) even when
            `drop_last` is False.
        num_workers: worker processes reading items (0: in this process).
        device: where batches go (default: the best device present).
        batch_tfms: the batch pipeline, run on the device.
        seed: fixes the batch order and the random augmentations of every epoch (None: a seed
            drawn from torch's global generator). A training loader (`split_idx` 0) draws one
            seed per epoch from its generator; the order and each batch's augmentations follow
            from it (`lamina.data.seeded_order`), whatever `num_workers`, so training resumes
            exactly at any batch (`start_at`).
        type_tfms: per element, the fitted type transforms, used by `decode`.
        blocks: per element, its block: collates the element (`TransformBlock.collate`) and
            draws it in `show_batch`. None: torch's default collation, labels shown as text.
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
        blocks: Sequence[TransformBlock] | None = None,
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
        if blocks is not None and len(blocks) < len(self.kinds):
            raise ValueError(f"blocks must hold one block per element ({len(self.kinds)}), "
                             f"got {len(blocks)}")  # fmt: skip
        self.blocks = None if blocks is None else list(blocks)[: len(self.kinds)]
        self.collate = collate_for(self.blocks)
        self._in_workers_asked = batch_tfms_in_workers
        if batch_tfms_in_workers is None:
            batch_tfms_in_workers = self.device.type == "cpu"
        self.batch_tfms_in_workers = batch_tfms_in_workers and num_workers > 0
        self.generator: torch.Generator | None = None
        if seed is not None or self.split_idx == 0:
            if seed is None:
                seed = int(torch.randint(0, 2**62, (1,)))
            self.generator = torch.Generator().manual_seed(seed)
        self.epoch_start_state: torch.Tensor | None = None
        self._start = 0
        self._torch_loader: torch.utils.data.DataLoader | None = None

    def __len__(self) -> int:
        n = len(self.dataset)
        if self.drop_last or (self.split_idx == 0 and n > 1 and n % self.bs == 1):
            return n // self.bs
        return math.ceil(n / self.bs)

    def start_at(self, batch: int) -> None:
        """Make the next iteration start at batch number `batch`, reading none of the batches
        before it (as they would have been: same order, same augmentations)."""
        if not (isinstance(batch, int) and 0 <= batch <= len(self)):
            raise ValueError(f"batch must be an integer in [0, {len(self)}], got {batch!r}")
        self._start = batch

    def _loader(self) -> torch.utils.data.DataLoader:
        # Built once and kept, so persistent workers survive from one epoch to the next.
        if self._torch_loader is None:
            workers = self.num_workers > 0
            collate = (
                CollateThenTransform(self.collate, self.batch_tfms, self.kinds, self.split_idx)
                if self.batch_tfms_in_workers
                else self.collate
            )
            order = self._seeded_order()
            self._torch_loader = torch.utils.data.DataLoader(
                self.dataset if order is None else SeededItems(self.dataset),
                batch_size=self.bs,
                shuffle=self.shuffle if order is None else False,
                sampler=order,
                drop_last=self.drop_last,
                num_workers=self.num_workers,
                # Only seeds torch's worker bookkeeping: the order and the augmentations come
                # from `order`, so a new epoch never draws from the global generator.
                generator=self.generator
                if order is None and self.generator is not None
                else torch.Generator().manual_seed(0),
                collate_fn=collate,
                pin_memory=self.device.type == "cuda",
                persistent_workers=workers,
                multiprocessing_context=self.multiprocessing_context if workers else None,
            )
        return self._torch_loader

    def _seeded_order(self) -> SeededOrder | None:
        if self.split_idx != 0 or self.generator is None:
            return None
        return SeededOrder(len(self.dataset), self.bs, len(self), self.shuffle)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        loader, start, self._start = self._loader(), self._start, 0
        order = loader.sampler if isinstance(loader.sampler, SeededOrder) else None
        if order is not None:
            assert self.generator is not None, "a seeded order exists only with a generator"
            self.epoch_start_state = self.generator.get_state()
            order.epoch_seed, order.start = draw_epoch_seed(self.generator), start
        batches: Iterator[Any] = iter(loader)
        if order is None and start:  # a loader sharded by DDP: read and drop the first batches
            batches = itertools.islice(batches, start, None)
        for number, batch in enumerate(batches, start=start):
            batch = to_device(tuple(batch), self.device)
            if not self.batch_tfms_in_workers:
                if order is None:
                    batch = self.batch_tfms(batch, self.kinds, self.split_idx)
                else:
                    seed = batch_seed(order.epoch_seed, number) ^ 1  # not the items' own seed
                    with seeded(seed, fork=True, device=self.device):
                        batch = self.batch_tfms(batch, self.kinds, self.split_idx)
            yield batch

    def one_batch(self) -> tuple[torch.Tensor, ...]:
        """The first batch."""
        for batch in self:
            return batch
        raise ValueError("this DataLoader yields no batches (empty data set, or bs > its size)")

    def decode(self, batch: tuple) -> tuple:
        """Undo the batch transforms (e.g. back to what was read) and map indices to labels."""
        batch = self.batch_tfms.decode(tuple(batch), self.kinds)
        return decode_types(batch, self.kinds, self.type_tfms)

    def items_batch(self, indices: Sequence[int], seed: int = 0) -> tuple[torch.Tensor, ...]:
        """The items at `indices` of the data set, collated and batch-transformed as a batch
        of this loader is; random augmentations follow from `seed` (global RNGs untouched)."""
        if not len(indices):
            raise ValueError("indices is empty: there is nothing to fetch")
        with seeded(seed, fork=True, device=self.device):
            batch = self.collate([self.dataset[int(index)] for index in indices])
            batch = to_device(tuple(batch), self.device)
            return self.batch_tfms(batch, self.kinds, self.split_idx)

    def show_batch(
        self,
        max_n: int = 9,
        ncols: int = 3,
        batch: tuple | None = None,
        shuffle: bool = True,
        seed: int = 0,
        nrows: int | None = None,
        figsize: tuple[float, float] | None = None,
    ) -> Figure:
        """Plot up to `max_n` samples as the model sees them (un-normalized); returns the figure.

        Args:
            batch: a batch of this loader to draw; None: `max_n` items drawn across the data
                set with `seed` (`shuffle`), or its first items (`shuffle=False`).
            ncols, nrows, figsize: the grid's panels per row, or rows, and size in inches.
        """
        from lamina.data.show import sample_indices, show_samples

        if batch is None:
            batch = self.items_batch(sample_indices(len(self.dataset), max_n, shuffle, seed), seed)
        blocks = self.blocks or [TransformBlock(kind) for kind in self.kinds]
        return show_samples(
            self.decode(batch), blocks, max_n=max_n, ncols=ncols, figsize=figsize, nrows=nrows
        )

    def new(self, **changes: Any) -> BlockDataLoader:
        """A copy with some settings changed, e.g. `new(shuffle=False, drop_last=False)`."""
        settings: dict[str, Any] = {
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
            "blocks": self.blocks,
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
