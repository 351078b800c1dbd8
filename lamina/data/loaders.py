"""The loaders contract: what every application's loaders give the `Learner`, and `DataLoaders`.

A `Learner` needs from its data a training and a validation iterable of batches, the device they
go to and how many leading batch elements are inputs (`n_inp`). The applications' loaders also
say what their target calls for (`TargetInfo`: a registered loss and metrics by name, the
number of outputs, the labels), make loaders of new items (`test_dl`), draw a batch
(`show_batch`, always a matplotlib `Figure`) and describe their inference preprocessing as JSON
(`export_config`). `Loaders` states that contract as a `Protocol`; `DataLoaders` is the base
class that implements it, for any iterables of batches (torch `DataLoader`s included).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import torch

from lamina.core.device import default_device, to_device
from lamina.data.tensor_batches import TensorBatches

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclass
class TargetInfo:
    """What the (first) target of a data set calls for, by name.

    The data layer sits below the losses and metrics, so it only names them; the training layer
    looks the names up in the registry.

    Attributes:
        loss_name, loss_kwargs: a registered loss (`lamina.train.losses`) and its arguments.
        activation: "softmax", "sigmoid" or None: turns model outputs into predictions.
        metric_names: registered metrics that suit the target.
        c: how many outputs the model needs for it (None: unknown).
        vocab: the target's labels in index order (None: it has none).
    """

    loss_name: str | None = None
    loss_kwargs: dict[str, Any] = field(default_factory=dict)
    activation: str | None = None
    metric_names: list[str] = field(default_factory=list)
    c: int | None = None
    vocab: Any = None


@runtime_checkable
class Loaders(Protocol):
    """The contract between an application's data and the `Learner` (see the module docstring)."""

    train: Iterable
    valid: Iterable | None
    device: torch.device
    n_inp: int
    loss_name: str | None
    loss_kwargs: dict[str, Any]
    activation: str | None
    metric_names: list[str]
    c: int | None
    vocab: Any

    def one_batch(self, ds_idx: int = 0) -> Any:
        """The first batch of the training (0) or validation (1) loader, on the device."""
        ...

    def test_dl(
        self, items: Any, with_labels: bool | None = None, bs: int | None = None
    ) -> Iterable:
        """Batches of new raw items (paths, rows, documents...), prepared as validation is."""
        ...

    def show_batch(self, max_n: int = 9, ncols: int = 3, ds_idx: int = 0) -> Figure:
        """A figure of up to `max_n` decoded samples, shown once in Jupyter (application
        loaders also take `shuffle`, `seed`, `nrows` and `figsize`)."""
        ...

    def export_config(self) -> dict[str, Any]:
        """The inference preprocessing as JSON, for an export."""
        ...


def loader_at(dls: Loaders, ds_idx: int) -> Iterable:
    """The training (`ds_idx` 0) or validation (1) loader of `dls`.

    Uses only the contract's `train` and `valid`, so it works for any loaders that follow it,
    not only for `DataLoaders` (which can also be indexed).
    """
    if ds_idx not in (0, 1):
        raise ValueError(f"ds_idx must be 0 (train) or 1 (valid), got {ds_idx!r}")
    loader = dls.train if ds_idx == 0 else dls.valid
    if loader is None:
        raise ValueError("ds_idx is 1 but there is no validation DataLoader")
    return loader


def target_labels(dls: Loaders) -> Any:
    """The target's labels in index order (None: it has none). This is `dls.vocab` except where
    the inputs have a vocabulary too (then `dls.vocab` is `[input vocabulary, labels]`);
    loaders that keep the two apart say so with a `target_vocab` attribute."""
    return getattr(dls, "target_vocab", dls.vocab)


def check_loaders(dls: Any) -> None:
    """Raise a `TypeError` naming what `dls` lacks of the `Loaders` contract."""
    if isinstance(dls, Loaders):
        return
    members = [name for name in Loaders.__annotations__ if not name.startswith("_")]
    members += ["one_batch", "test_dl", "show_batch", "export_config"]
    missing = [name for name in members if not hasattr(dls, name)]
    raise TypeError(
        f"dls must follow the loaders contract (lamina.data.Loaders); a {type(dls).__name__} "
        f"lacks {', '.join(missing)}. Wrap your own loaders: DataLoaders(train_dl, valid_dl)"
    )


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
        target: TargetInfo | None = None,
    ) -> None:
        if not (isinstance(n_inp, int) and n_inp >= 1):
            raise ValueError(f"n_inp must be an integer of at least 1, got {n_inp!r}")
        self.train, self.valid, self.n_inp = train, valid, n_inp
        self.device = torch.device(device) if device is not None else default_device()
        target = target if target is not None else TargetInfo()
        self.loss_name, self.loss_kwargs = target.loss_name, dict(target.loss_kwargs)
        self.activation, self.metric_names = target.activation, list(target.metric_names)
        self.c, self.vocab = target.c, target.vocab

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

    def test_dl(
        self, items: Any, with_labels: bool | None = None, bs: int | None = None
    ) -> Iterable:
        """Loaders built from your own iterables cannot prepare raw items; an application's
        loaders (or a subclass) can."""
        raise NotImplementedError(
            f"{type(self).__name__} was built from ready-made batches and cannot prepare new raw "
            "items: pass a loader of your own (e.g. learn.get_preds(dl=my_loader))"
        )

    def show_batch(self, max_n: int = 9, ncols: int = 3, ds_idx: int = 0) -> Figure:
        """Loaders of ready-made batches do not know how to draw them; an application's do."""
        raise NotImplementedError(
            f"{type(self).__name__} holds ready-made batches and does not know how to draw them"
        )

    def export_config(self) -> dict[str, Any]:
        """Loaders of ready-made batches cannot describe their preprocessing for an export."""
        raise NotImplementedError(
            f"{type(self).__name__} holds ready-made batches; only an application's loaders "
            "describe their preprocessing for an export"
        )

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
