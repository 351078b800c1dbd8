"""A tiny model, data set and learner, for lamina's own tests and for testing users' callbacks.

Example:
    >>> from lamina.testing import tiny_learner
    >>> learn = tiny_learner()
    >>> learn.fit(2, lr=1e-2)
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from lamina.data.loaders import DataLoaders
from lamina.train.learner import Learner


def synth_regression(
    n_train: int = 256,
    n_valid: int = 64,
    bs: int = 16,
    seed: int = 0,
    device: str | torch.device = "cpu",
) -> DataLoaders:
    """`y = 2x + 3` plus a little noise, as fast in-memory DataLoaders of shape (n, 1)."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n_train + n_valid, 1, generator=generator)
    y = 2 * x + 3 + 0.1 * torch.randn(n_train + n_valid, 1, generator=generator)
    return DataLoaders.from_tensors((x[:n_train], y[:n_train]), (x[n_train:], y[n_train:]), bs=bs,
                                    device=device, seed=seed)  # fmt: skip


def synth_classification(
    n_train: int = 512,
    n_valid: int = 128,
    n_features: int = 8,
    n_classes: int = 3,
    bs: int = 32,
    seed: int = 0,
    device: str | torch.device = "cpu",
) -> DataLoaders:
    """Gaussian blobs, one per class, as fast in-memory DataLoaders (features, int64 labels)."""
    generator = torch.Generator().manual_seed(seed)
    centres = 3 * torch.randn(n_classes, n_features, generator=generator)
    labels = torch.randint(0, n_classes, (n_train + n_valid,), generator=generator)
    x = centres[labels] + torch.randn(n_train + n_valid, n_features, generator=generator)
    return DataLoaders.from_tensors((x[:n_train], labels[:n_train]),
                                    (x[n_train:], labels[n_train:]), bs=bs, device=device,
                                    seed=seed)  # fmt: skip


class RegModel(nn.Module):
    """`a * x + b` with two scalar parameters. Shapes: (B, 1) -> (B, 1)."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Parameter(torch.zeros(1))
        self.b = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.a * x + self.b


class TinyMLP(nn.Module):
    """Two linear layers with a batch norm between, split into a body and a head group."""

    def __init__(self, n_in: int = 8, n_hidden: int = 16, n_out: int = 3) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(n_in, n_hidden), nn.BatchNorm1d(n_hidden), nn.ReLU())
        self.head = nn.Linear(n_hidden, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def body_head_splitter(model: TinyMLP) -> list[list[nn.Parameter]]:
    """Two parameter groups: the body, then the head."""
    return [list(model.body.parameters()), list(model.head.parameters())]


def tiny_learner(classification: bool = False, silent: bool = True, **kwargs: Any) -> Learner:
    """A Learner on synthetic data: regression with `RegModel`, or classification with
    `TinyMLP` (two parameter groups). Extra arguments go to `Learner`."""
    if classification:
        dls = synth_classification()
        kwargs.setdefault("splitter", body_head_splitter)
        learn = Learner(dls, TinyMLP(), loss_func=nn.CrossEntropyLoss(), **kwargs)
    else:
        learn = Learner(synth_regression(), RegModel(), loss_func=nn.MSELoss(), **kwargs)
    learn.progress.silent = silent
    return learn
