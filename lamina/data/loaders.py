"""`DataLoaders`: a training and a validation iterable of batches, plus fast in-memory batching."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import torch

from lamina.core.device import default_device, to_device


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
        settings = {
            "bs": self.bs,
            "shuffle": self.shuffle,
            "drop_last": self.drop_last,
            "device": self.device,
        }
        settings.update(changes)
        return TensorBatches(*self.tensors, **settings)


class DataLoaders:
    """A training and a validation iterable of batches, and the device batches go to.

    Any iterables work, torch `DataLoader`s included. Each batch is a tuple whose first `n_inp`
    items are the model's inputs and the rest the targets.

    Example:
        >>> import torch
        >>> from torch.utils.data import DataLoader, TensorDataset
        >>> ds = TensorDataset(torch.randn(100, 4), torch.randint(0, 2, (100,)))
        >>> dls = DataLoaders(DataLoader(ds, batch_size=16, shuffle=True), DataLoader(ds, 16))
        >>> xb, yb = dls.one_batch()
    """

    def __init__(
        self,
        train: Iterable,
        valid: Iterable | None = None,
        device: torch.device | str | None = None,
        n_inp: int = 1,
    ) -> None:
        if n_inp < 1:
            raise ValueError(f"n_inp must be at least 1, got {n_inp!r}")
        self.train, self.valid, self.n_inp = train, valid, n_inp
        self.device = torch.device(device) if device is not None else default_device()

    @property
    def loaders(self) -> list[Iterable]:
        """`[train, valid]` (valid omitted when absent)."""
        return [dl for dl in (self.train, self.valid) if dl is not None]

    def __getitem__(self, index: int) -> Iterable:
        return self.loaders[index]

    def one_batch(self, ds_idx: int = 0) -> Any:
        """The first batch of the training (0) or validation (1) loader, on `self.device`."""
        loader = self[ds_idx]
        for batch in loader:
            return to_device(batch, self.device)
        raise ValueError(f"{'train' if ds_idx == 0 else 'valid'} DataLoader yields no batches")

    @classmethod
    def from_tensors(
        cls,
        train: Sequence[torch.Tensor],
        valid: Sequence[torch.Tensor] | None = None,
        bs: int = 64,
        device: torch.device | str | None = None,
        seed: int | None = None,
        n_inp: int = 1,
        drop_last: bool = False,
    ) -> DataLoaders:
        """Fast in-memory loaders: `from_tensors((x_train, y_train), (x_valid, y_valid))`."""
        device = torch.device(device) if device is not None else default_device()
        train_dl = TensorBatches(
            *train, bs=bs, shuffle=True, drop_last=drop_last, device=device, seed=seed
        )
        valid_dl = None if valid is None else TensorBatches(*valid, bs=bs * 2, device=device)
        return cls(train_dl, valid_dl, device=device, n_inp=n_inp)

    @classmethod
    def from_dsets(
        cls,
        train_ds: Any,
        valid_ds: Any = None,
        bs: int = 64,
        device: torch.device | str | None = None,
        num_workers: int = 0,
        seed: int | None = None,
        n_inp: int = 1,
        **loader_kwargs: Any,
    ) -> DataLoaders:
        """torch `DataLoader`s over map-style datasets (with `__len__` and `__getitem__`)."""
        from torch.utils.data import DataLoader

        generator = None if seed is None else torch.Generator().manual_seed(seed)
        pin = torch.cuda.is_available()
        train_dl = DataLoader(
            train_ds,
            batch_size=bs,
            shuffle=True,
            num_workers=num_workers,
            generator=generator,
            pin_memory=pin,
            **loader_kwargs,
        )
        valid_dl = None
        if valid_ds is not None:
            valid_dl = DataLoader(
                valid_ds,
                batch_size=bs * 2,
                shuffle=False,
                num_workers=num_workers,
                pin_memory=pin,
                **loader_kwargs,
            )
        return cls(train_dl, valid_dl, device=device, n_inp=n_inp)
