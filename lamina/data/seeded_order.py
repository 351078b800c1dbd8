"""Training order and augmentation randomness as pure functions of (epoch seed, batch number).

A training `BlockDataLoader` draws one seed per epoch from its own generator. The items' order
is a permutation drawn from that seed, and every batch's random transforms draw from a seed
derived from (epoch seed, batch number), set just before its items are read: in whichever
worker process reads them, or, in this process, on generators forked for the batch so the
global ones (dropout, ...) run on undisturbed. So a batch's content does not depend on
`num_workers`, on which worker read it, or on the batches before it, and training can resume
at any batch of an epoch without reading the batches before it.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch

from lamina.data.collate_check import read_many

_MIX = 0x9E3779B97F4A7C15  # odd 64-bit constant (golden ratio): spreads batch numbers apart
_SEED_RANGE = 2**63


def batch_seed(epoch_seed: int, number: int) -> int:
    """The seed of batch `number` in the epoch seeded with `epoch_seed`."""
    return (epoch_seed + (number + 1) * _MIX) % _SEED_RANGE


def draw_epoch_seed(generator: torch.Generator) -> int:
    """One epoch's seed, drawn from the loader's generator."""
    return int(torch.randint(0, 2**62, (1,), generator=generator))


class SeededOrder(torch.utils.data.Sampler):
    """The items of one epoch as `(batch seed, index)` pairs, in order, from batch `start` on.

    Set `epoch_seed` (and `start`) before each pass. `bs` and `n_batches` fix the batches
    (a partial last batch, if any, is the last of `n_batches`).
    """

    def __init__(self, n: int, bs: int, n_batches: int, shuffle: bool) -> None:
        self.n, self.bs, self.n_batches, self.shuffle = n, bs, n_batches, shuffle
        self.epoch_seed, self.start = 0, 0

    def __len__(self) -> int:
        return max(0, min(self.n, self.n_batches * self.bs) - self.start * self.bs)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        if self.shuffle:
            generator = torch.Generator().manual_seed(self.epoch_seed)
            order = torch.randperm(self.n, generator=generator).tolist()
        else:
            order = list(range(self.n))
        end = min(self.n, self.n_batches * self.bs)
        for position in range(self.start * self.bs, end):
            yield batch_seed(self.epoch_seed, position // self.bs), order[position]


class SeededItems(torch.utils.data.Dataset):
    """`dataset` read with keys `(batch seed, index)`: each batch's random transforms draw from
    its seed. Plain integer keys read the item unseeded (as a `DistributedSampler` gives)."""

    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key: Any) -> Any:
        return self.__getitems__([key])[0]

    def __getitems__(self, keys: Sequence[Any]) -> list:
        if not keys or not isinstance(keys[0], tuple):
            return read_many(self.dataset, keys)
        in_worker = torch.utils.data.get_worker_info() is not None
        # A worker's generators are its own; in this process they are forked for the batch.
        with seeded(keys[0][0], fork=not in_worker):
            return read_many(self.dataset, [index for _, index in keys])


@contextmanager
def seeded(seed: int, fork: bool, device: torch.device | None = None) -> Iterator[None]:
    """Torch's and Python's generators seeded with `seed`; with `fork`, put back afterwards
    (the CPU's, and `device`'s when it is a CUDA device)."""
    if not fork:
        torch.manual_seed(seed)
        random.seed(seed)
        yield
        return
    devices = [device] if device is not None and device.type == "cuda" else []
    python_state = random.getstate()
    with torch.random.fork_rng(devices=devices, device_type="cuda"):
        torch.random.default_generator.manual_seed(seed)
        for cuda in devices:
            torch.cuda.default_generators[cuda.index or 0].manual_seed(seed)
        random.seed(seed)
        try:
            yield
        finally:
            random.setstate(python_state)
