"""GradientAccumulation: n batches of gradients make one step, equal to one big batch."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lamina import Callback, DataLoaders, Learner, TensorBatches
from lamina.train.callbacks import GradientAccumulation


def _sgd(params: list, lr: float) -> torch.optim.Optimizer:
    return torch.optim.SGD(params, lr=lr)


def _learner(bs: int, n: int = 16, cbs: list | None = None) -> Learner:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(n, 4, generator=generator)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]]) + 0.1
    dls = DataLoaders(TensorBatches(x, y, bs=bs, shuffle=False), device="cpu")
    torch.manual_seed(0)
    learn = Learner(dls, nn.Linear(4, 1), loss_func=nn.MSELoss(), opt_func=_sgd, lr=0.1, cbs=cbs)
    learn.progress.silent = True
    return learn


def test_two_accumulated_batches_equal_one_batch_twice_as_large() -> None:
    accumulated = _learner(bs=8, cbs=[GradientAccumulation(n_steps=2)])
    big = _learner(bs=16)
    start = [p.detach().clone() for p in big.model.parameters()]
    accumulated.fit(1)
    big.fit(1)
    for got, expected, initial in zip(accumulated.model.parameters(), big.model.parameters(),
                                      start, strict=True):  # fmt: skip
        assert not torch.allclose(expected, initial)  # the step happened
        torch.testing.assert_close(got, expected)


def test_steps_only_every_n_batches_and_records_unscaled_losses() -> None:
    class CountSteps(Callback):
        def __init__(self) -> None:
            self.steps = 0

        def after_step(self) -> None:
            self.steps += 1

        def after_cancel_step(self) -> None:
            self.steps -= 1  # after_step also runs after a cancelled step

    counter = CountSteps()
    learn = _learner(bs=2, n=16, cbs=[GradientAccumulation(n_steps=3), counter])
    initial = _learner(bs=2, n=16)
    learn.fit(1)
    assert counter.steps == 8 // 3
    # the first 3 batches all see the initial weights, and their losses are recorded unscaled
    with torch.no_grad():
        expected = [float(nn.MSELoss()(initial.model(x), y)) for x, y in initial.dls.train]
    assert learn.recorder.losses[:3] == pytest.approx(expected[:3])
    assert learn.recorder.losses[3] != pytest.approx(expected[3])  # the first step happened
    assert all(p.grad is None for p in learn.model.parameters())  # leftovers dropped at the end


@pytest.mark.parametrize("n_steps", [0, -1, 1.5, True, "2"])
def test_rejects_bad_n_steps(n_steps: object) -> None:
    with pytest.raises(ValueError, match=r"n_steps must be a positive integer, got"):
        GradientAccumulation(n_steps=n_steps)


def test_n_acc_counts_samples_as_fastai_does() -> None:
    by_samples = _learner(bs=4, cbs=[GradientAccumulation(n_acc=16)])
    big = _learner(bs=16)
    by_samples.fit(1)
    big.fit(1)
    for got, expected in zip(by_samples.model.parameters(), big.model.parameters(), strict=True):
        torch.testing.assert_close(got, expected)


def test_a_positional_count_fails_naming_both_meanings() -> None:
    with pytest.raises(TypeError, match=r"n_steps= \(batches.*n_acc= \(samples"):
        GradientAccumulation(64)
    with pytest.raises(TypeError, match="exactly one"):
        GradientAccumulation(n_steps=2, n_acc=32)
