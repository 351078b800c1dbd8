"""End to end: a Learner with fit_one_cycle learns real data shipped with scikit-learn."""

from __future__ import annotations

import pytest
import torch
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.model_selection import train_test_split
from torch import nn

from lamina import DataLoaders, Learner, accuracy, set_seed


def _tensors(x, y, seed: int = 0):
    x_train, x_valid, y_train, y_valid = train_test_split(x, y, test_size=0.25, random_state=seed,
                                                          stratify=y)  # fmt: skip
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    std[std == 0] = 1.0  # constant columns (digits' blank border pixels) stay constant

    def as_x(a):
        return torch.tensor((a - mean) / std, dtype=torch.float32)

    return (as_x(x_train), torch.tensor(y_train)), (as_x(x_valid), torch.tensor(y_valid))


def test_digits_as_flat_vectors_reach_95_percent() -> None:
    set_seed(0)
    train, valid = _tensors(*load_digits(return_X_y=True))
    dls = DataLoaders.from_tensors(train, valid, bs=64, device="cpu", seed=0)
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Dropout(0.1), nn.Linear(128, 10))
    learn = Learner(dls, model, loss_func=nn.CrossEntropyLoss(), metrics=accuracy)
    learn.progress.silent = True
    learn.fit_one_cycle(8, 1e-2)
    loss, acc = learn.validate()
    assert acc >= 0.95
    assert loss < 0.25


def test_breast_cancer_reaches_95_percent() -> None:
    set_seed(0)
    train, valid = _tensors(*load_breast_cancer(return_X_y=True))
    dls = DataLoaders.from_tensors(train, valid, bs=32, device="cpu", seed=0)
    model = nn.Sequential(nn.Linear(30, 32), nn.ReLU(), nn.Linear(32, 2))
    learn = Learner(dls, model, metrics=accuracy, wd=0.1)  # loss inferred from integer targets
    learn.progress.silent = True
    learn.fit_one_cycle(8, 1e-2)
    _, acc = learn.validate()
    assert acc >= 0.95


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # raised inside torch.compile itself
def test_compiled_model_trains_to_the_same_losses() -> None:
    train, valid = _tensors(*load_digits(return_X_y=True))
    losses = []
    for compile_model in (False, True):
        set_seed(0)
        dls = DataLoaders.from_tensors(train, valid, bs=64, device="cpu", seed=0)
        model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
        learn = Learner(dls, model, loss_func=nn.CrossEntropyLoss(), compile=compile_model)
        learn.progress.silent = True
        learn.fit(2, lr=3e-3)
        losses.append([row[0] for row in learn.recorder.values])
    assert losses[1] == pytest.approx(losses[0], rel=1e-3)
