"""A learner on loaders that follow the `Loaders` contract without subclassing `DataLoaders`.

Regression tests: `get_preds` indexed `learn.dls[ds_idx]` and `lr_find` read `learn.dls.loaders`,
neither of which the contract has, so such loaders failed there with a TypeError or an
AttributeError.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest
import torch
from torch import nn

from lamina.data.loaders import DataLoaders, Loaders, loader_at
from lamina.data.tensor_batches import TensorBatches
from lamina.testing import RegModel
from lamina.train.learner import Learner


class ContractLoaders:
    """Exactly the members of `lamina.data.Loaders`, nothing more (no indexing, no `loaders`)."""

    def __init__(self, train: Iterable, valid: Iterable | None) -> None:
        self.train, self.valid = train, valid
        self.device = torch.device("cpu")
        self.n_inp = 1
        self.loss_name, self.loss_kwargs, self.activation = None, {}, None
        self.metric_names: list[str] = []
        self.c, self.vocab = None, None

    def one_batch(self, ds_idx: int = 0) -> Any:
        return next(iter(self.train if ds_idx == 0 else self.valid))

    def test_dl(self, items: Any, with_labels: bool | None = None, bs: int | None = None) -> Any:
        raise NotImplementedError

    def show_batch(self, max_n: int = 9, ncols: int = 3, ds_idx: int = 0) -> Any:
        raise NotImplementedError

    def export_config(self) -> dict[str, Any]:
        raise NotImplementedError


def _learner() -> Learner:
    torch.manual_seed(0)
    x = torch.linspace(-1, 1, 32).unsqueeze(1)  # (32, 1)
    y = 2 * x + 3
    train = TensorBatches(x, y, bs=8, shuffle=True, seed=0, device="cpu")
    valid = TensorBatches(x[:12], y[:12], bs=8, device="cpu")
    dls = ContractLoaders(train, valid)
    assert isinstance(dls, Loaders)
    assert not isinstance(dls, DataLoaders)
    return Learner(dls, RegModel(), loss_func=nn.MSELoss(), cbs=[], precision="float32")


def test_get_preds_reads_train_and_valid_through_the_contract() -> None:
    learn = _learner()
    learn.progress.silent = True
    preds, targs = learn.get_preds()  # the validation loader: 12 rows
    assert preds.shape == targs.shape == (12, 1)
    train_preds, train_targs = learn.get_preds(ds_idx=0)
    assert train_preds.shape == (32, 1)
    assert torch.equal(train_targs.sort(dim=0).values, (2 * torch.linspace(-1, 1, 32) + 3)[:, None])


def test_lr_find_restores_a_learner_on_contract_loaders() -> None:
    learn = _learner()
    learn.progress.silent = True
    before = {name: value.clone() for name, value in learn.model.state_dict().items()}
    result = learn.lr_find(num_it=10, show_plot=False)
    assert len(result.lrs) == 10
    for name, value in learn.model.state_dict().items():
        assert torch.equal(value, before[name])


def test_loader_at_names_what_is_allowed() -> None:
    train, valid = [1, 2], [3]
    assert loader_at(ContractLoaders(train, valid), 0) is train
    assert loader_at(ContractLoaders(train, valid), 1) is valid
    with pytest.raises(ValueError, match="ds_idx must be 0 .* or 1"):
        loader_at(ContractLoaders(train, valid), 2)
    with pytest.raises(ValueError, match="no validation DataLoader"):
        loader_at(ContractLoaders(train, None), 1)
