"""`DistributedTrainer`: DDP around the model and a share of the training batches per process.

Usually added by `learn.distributed()` (see `lamina.train.ddp`), which also starts the
process group that this callback needs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Any

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, IterableDataset, RandomSampler, SequentialSampler
from torch.utils.data.distributed import DistributedSampler

from lamina.data.block_loader import BlockDataLoader
from lamina.data.tensor_batches import TensorBatches
from lamina.train.callback import Callback

# What a rebuilt torch DataLoader keeps from the original: everything but how items are chosen.
_DATALOADER_SETTINGS = ("batch_size", "drop_last", "num_workers", "collate_fn", "pin_memory",
                        "timeout", "worker_init_fn", "multiprocessing_context", "generator",
                        "prefetch_factor", "persistent_workers", "pin_memory_device",
                        "in_order")  # fmt: skip


class ShardedLoader:
    """One process's share of a training loader.

    Each epoch a `DistributedSampler` shuffles the items with `seed + epoch` (the same order in
    every process) and deals them out, so the processes see disjoint parts of it; the last items
    are repeated where needed so that every process runs the same number of batches.

    Attributes:
        loader: the loader this one shares out. `sampler`: the `DistributedSampler`.
    """

    def __init__(
        self, loader: Any, batches: Iterable, sampler: DistributedSampler, bs: int, drop_last: bool
    ) -> None:
        self.loader, self.batches, self.sampler = loader, batches, sampler
        self.bs, self.drop_last = bs, drop_last
        self.device = getattr(loader, "device", None)

    def set_epoch(self, epoch: int) -> None:
        """Choose the shuffled order of `epoch`."""
        self.sampler.set_epoch(epoch)

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.bs if self.drop_last else math.ceil(n / self.bs)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.batches)


class _TensorShard:
    """`TensorBatches` batches drawn in the sampler's order."""

    def __init__(self, source: TensorBatches, sampler: DistributedSampler) -> None:
        self.source, self.sampler = source, sampler

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        source = self.source
        order = torch.tensor(list(self.sampler), device=source.device)
        for start in range(0, len(order), source.bs):
            index = order[start : start + source.bs]
            if source.drop_last and len(index) < source.bs:
                return
            yield tuple(t[index] for t in source.tensors)


def _with_sampler(dl: DataLoader, sampler: DistributedSampler) -> DataLoader:
    """A torch DataLoader like `dl`, drawing its items from `sampler`."""
    settings = {name: getattr(dl, name) for name in _DATALOADER_SETTINGS if hasattr(dl, name)}
    return DataLoader(dl.dataset, sampler=sampler, **settings)


def _shuffles(dl: DataLoader) -> bool:
    if isinstance(dl.dataset, IterableDataset) or dl.batch_size is None:
        raise TypeError(
            "cannot shard a torch DataLoader over an IterableDataset or with its own "
            "batch_sampler; give it a map-style dataset and batch_size, or shard it yourself"
        )
    if not isinstance(dl.sampler, (RandomSampler, SequentialSampler)):
        raise TypeError(
            f"cannot shard a torch DataLoader with a {type(dl.sampler).__name__}: only "
            "shuffle=True/False loaders are rebuilt with a DistributedSampler"
        )
    return isinstance(dl.sampler, RandomSampler)


def shard_loader(
    dl: Iterable, rank: int, world_size: int, seed: int | None = None
) -> ShardedLoader:
    """Process `rank`'s share of the training loader `dl` (a `BlockDataLoader`, `TensorBatches`
    or torch `DataLoader`). `seed` defaults to the loader's own seed, else 0; it must be the
    same in every process. The loader's batch size becomes the batch size of each process."""
    generator = getattr(dl, "generator", None)
    if seed is None:
        seed = generator.initial_seed() if isinstance(generator, torch.Generator) else 0

    def sampler(dataset: Any, shuffle: bool) -> DistributedSampler:
        return DistributedSampler(dataset, world_size, rank, shuffle=shuffle, seed=seed)

    if isinstance(dl, BlockDataLoader):
        share = sampler(dl.dataset, dl.shuffle)
        copy = dl.new()
        # The copy keeps the batch stage (device, batch transforms, reseeding) and reads its items
        # through a torch loader that takes them from the sampler.
        copy._torch_loader = _with_sampler(copy._loader(), share)
        return ShardedLoader(dl, copy, share, dl.bs, dl.drop_last)
    if isinstance(dl, TensorBatches):
        share = sampler(range(dl.n), dl.shuffle)
        return ShardedLoader(dl, _TensorShard(dl, share), share, dl.bs, dl.drop_last)
    if isinstance(dl, DataLoader):
        share = sampler(dl.dataset, _shuffles(dl))
        assert dl.batch_size is not None, "_shuffles refuses loaders without a batch size"
        return ShardedLoader(dl, _with_sampler(dl, share), share, dl.batch_size, dl.drop_last)
    raise TypeError(
        f"cannot share a training loader of type {type(dl).__name__} across processes: use a "
        "BlockDataLoader, TensorBatches or torch DataLoader (or give each process its own data)"
    )


class DistributedTrainer(Callback):
    """Trains with `DistributedDataParallel`, each process on its share of the training batches.

    Needs a running process group (`learn.distributed()` starts one under torchrun). For each
    fit it wraps `learn.model` in DDP and replaces `learn.dls.train` with a `ShardedLoader`;
    when the fit ends (also when cancelled) it copies rank 0's buffers (batch-norm statistics)
    to every process and puts the plain model and the original loader back.

    Args:
        seed: the seed of the shared shuffle (default: the training loader's seed, else 0).
        ddp_kwargs: passed to `DistributedDataParallel`, e.g. `find_unused_parameters=True`.
    """

    order = -20  # wrap the model before any other callback looks at it

    def __init__(self, seed: int | None = None, **ddp_kwargs: Any) -> None:
        self.seed, self.ddp_kwargs = seed, ddp_kwargs
        self._model: torch.nn.Module | None = None
        self._train: Any = None

    def before_fit(self) -> None:
        self.restore(sync=False)  # an earlier fit that ended in an error left things wrapped
        if not dist.is_initialized():
            raise RuntimeError(
                "DistributedTrainer needs a torch.distributed process group: launch with torchrun "
                "and train inside `with learn.distributed():`"
            )
        learn = self.learn
        device = torch.device(learn.dls.device)
        device_ids = None
        if device.type == "cuda":
            device_ids = [device.index if device.index is not None else torch.cuda.current_device()]
        self._model, self._train = learn.model, learn.dls.train
        learn.dls.train = shard_loader(
            self._train, dist.get_rank(), dist.get_world_size(), self.seed
        )
        learn.model = DistributedDataParallel(learn.model, device_ids=device_ids, **self.ddp_kwargs)

    def before_epoch(self) -> None:
        train = self.learn.dls.train
        assert isinstance(train, ShardedLoader), "before_fit replaced it with its share"
        train.set_epoch(self.learn.epoch)

    def after_fit(self) -> None:
        self.restore(sync=True)

    def restore(self, sync: bool = True) -> None:
        """Put the plain model and the original training loader back (a no-op when not wrapped).

        `sync` first copies rank 0's buffers to every process: each process updated its own
        batch-norm statistics on its own batches. Leave it off after an error, when the other
        processes may never join the copy.
        """
        if self._model is None:
            return
        if sync:
            for buffer in self._model.buffers():
                dist.broadcast(buffer, src=0)
        self.learn.model, self.learn.dls.train = self._model, self._train
        self._model = self._train = None
