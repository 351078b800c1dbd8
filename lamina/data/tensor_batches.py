"""`TensorBatches`: batches sliced straight from whole tensors, for data that fits in memory."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import torch


class TensorBatches:
    """Batches sliced straight from whole tensors: no per-item Python work, no collate.

    Each epoch draws a fresh permutation from `generator` when `shuffle` is set (seeded by `seed`
    or by torch's global generator), so a seed fixes the batch order.

    Args:
        tensors: tensors sharing their first dimension, e.g. `(x, y)`.
        bs: batch size.
        shuffle: draw a new order each epoch.
        drop_last: drop the final incomplete batch.
        device: where batches are produced; the tensors are moved there once.
        seed: seed for this loader's own generator (None: use torch's global generator).
    """

    def __init__(
        self,
        *tensors: torch.Tensor,
        bs: int = 64,
        shuffle: bool = False,
        drop_last: bool = False,
        device: torch.device | str | None = None,
        seed: int | None = None,
    ) -> None:
        if not tensors:
            raise ValueError("TensorBatches needs at least one tensor")
        lengths = {len(t) for t in tensors}
        if len(lengths) != 1:
            shapes = [tuple(t.shape) for t in tensors]
            raise ValueError(f"tensors must share their first dimension; got shapes {shapes}")
        if bs < 1:
            raise ValueError(f"bs must be a positive integer, got {bs!r}")
        self.device = torch.device(device) if device is not None else tensors[0].device
        self.tensors = tuple(t.to(self.device) for t in tensors)
        self.bs, self.shuffle, self.drop_last = bs, shuffle, drop_last
        self.generator = None if seed is None else torch.Generator().manual_seed(seed)
        self.n = lengths.pop()

    def __len__(self) -> int:
        return self.n // self.bs if self.drop_last else math.ceil(self.n / self.bs)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        if self.shuffle:
            order = torch.randperm(self.n, generator=self.generator).to(self.device)
            for start in range(0, len(self) * self.bs, self.bs):
                index = order[start : start + self.bs]
                yield tuple(t[index] for t in self.tensors)
        else:
            for start in range(0, len(self) * self.bs, self.bs):
                yield tuple(t[start : start + self.bs] for t in self.tensors)

    def new(self, **changes: Any) -> TensorBatches:
        """A copy with some settings changed (e.g. `shuffle=False` for prediction)."""
        settings: dict[str, Any] = {
            "bs": self.bs,
            "shuffle": self.shuffle,
            "drop_last": self.drop_last,
            "device": self.device,
        }
        settings.update(changes)
        return TensorBatches(*self.tensors, **settings)
