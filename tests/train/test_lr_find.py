"""The LR finder: suggestions in range and sensible, and the learner left exactly as it was."""

from __future__ import annotations

import copy
import math

import matplotlib
import numpy as np
import pytest
import torch

from lamina.testing import tiny_learner
from lamina.train.lr_find import LRFinder, SuggestedLRs, suggest_lrs

matplotlib.use("Agg")


def _opt_tensors(learn) -> list[torch.Tensor]:
    state = learn.opt.state_dict()["state"]
    return [value for index in sorted(state) for value in state[index].values()
            if isinstance(value, torch.Tensor)]  # fmt: skip


def test_suggestions_lie_in_the_swept_range_and_fit_the_problem() -> None:
    learn = tiny_learner()
    result = learn.lr_find(show_plot=False)
    valley, steepest, minimum = result
    assert isinstance(result, SuggestedLRs)
    assert len(result.lrs) == len(result.losses) == len(result.smooth_losses) == 100
    assert result.lrs[0] == pytest.approx(1e-7)
    assert result.lrs[-1] == pytest.approx(10)
    assert np.diff(np.log(result.lrs)) == pytest.approx(np.full(99, math.log(1e8) / 99))
    for lr in result:
        assert 1e-7 <= lr <= 10
    # fit_one_cycle(2, lr) on this problem reaches its noise floor for lrs in about [0.3, 3]
    assert 0.05 <= valley <= 3
    assert 0.05 <= steepest <= 3
    assert result.figure is None


def test_stop_div_ends_the_sweep_when_the_loss_explodes() -> None:
    learn = tiny_learner(opt_func=lambda params, **kwargs: torch.optim.SGD(params, **kwargs))
    result = learn.lr_find(start_lr=1e-4, end_lr=100, num_it=100, show_plot=False)
    assert len(result.lrs) < 100
    assert result.smooth_losses[-1] > 4 * min(result.smooth_losses)
    kept = learn.lr_find(start_lr=1e-4, end_lr=100, num_it=100, stop_div=False, show_plot=False)
    assert len(kept.lrs) > len(result.lrs)  # runs on until the loss is no longer finite
    assert all(math.isfinite(loss) for loss in kept.losses)


def test_learner_is_restored_exactly_and_training_continues_identically() -> None:
    learn = tiny_learner()
    learn.fit(1, lr=1e-2)
    opt = learn.opt
    params = [param.detach().clone() for param in learn.model.parameters()]
    opt_state = copy.deepcopy(opt.state_dict())
    history = copy.deepcopy(learn.recorder.state_dict())
    counters = (learn.epochs_done, learn.train_iter, learn.n_epoch)
    learn.lr_find(num_it=40, show_plot=False)  # more than two epochs of 16 batches
    assert learn.opt is opt
    for param, before in zip(learn.model.parameters(), params, strict=True):
        assert torch.equal(param, before)
    after = opt.state_dict()
    assert after["param_groups"] == opt_state["param_groups"]
    for index, values in opt_state["state"].items():
        for key, value in values.items():
            assert torch.equal(after["state"][index][key], value), key
    assert learn.recorder.state_dict() == history
    assert (learn.epochs_done, learn.train_iter, learn.n_epoch) == counters
    learn.fit(1, lr=1e-2)
    twin = tiny_learner()
    twin.fit(1, lr=1e-2)
    twin.fit(1, lr=1e-2)
    for param, expected in zip(learn.model.parameters(), twin.model.parameters(), strict=True):
        assert torch.equal(param, expected)
    for mine, expected in zip(_opt_tensors(learn), _opt_tensors(twin), strict=True):
        assert torch.equal(mine, expected)


def test_a_learner_without_optimizer_keeps_none() -> None:
    learn = tiny_learner(classification=True)
    buffers = copy.deepcopy(learn.model.state_dict())
    learn.lr_find(num_it=20, show_plot=False)
    assert learn.opt is None
    for name, value in learn.model.state_dict().items():
        assert torch.equal(value, buffers[name]), name  # batch-norm statistics included


def test_show_plot_keeps_the_figure() -> None:
    import matplotlib.pyplot as plt

    learn = tiny_learner()
    result = learn.lr_find(num_it=30)
    figure = result.figure
    try:
        axes = figure.axes[0]
        assert axes.get_xscale() == "log"
        labels = [text.get_text() for text in axes.get_legend().get_texts()]
        assert any(label.startswith("valley") for label in labels)
        assert any(label.startswith("steepest") for label in labels)
        assert result.plot() is not figure
    finally:
        plt.close("all")


def test_suggest_lrs_on_a_known_curve() -> None:
    lrs = np.geomspace(1e-5, 1, 51)
    log_lr = np.log10(lrs)
    # flat, then a fall whose slope is largest at lr 1e-2, a minimum at 1e-1, then divergence
    losses = 2 - np.tanh(2 * (log_lr + 2)) + np.where(log_lr > -1, 10 * (log_lr + 1) ** 2, 0)
    valley, steepest, minimum = suggest_lrs(list(lrs), list(losses))
    assert steepest == pytest.approx(1e-2)
    assert minimum == pytest.approx(lrs[np.argmin(losses)] / 10)
    assert 2e-3 < valley < 5e-2  # half way down the descent
    with pytest.raises(ValueError, match="at least 2"):
        suggest_lrs([1e-3], [1.0])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start_lr": 1.0, "end_lr": 0.1}, "0 < start_lr < end_lr"),
        ({"start_lr": 0.0}, "0 < start_lr < end_lr"),
        ({"num_it": 1}, "num_it must be an integer of at least 2, got 1"),
    ],
)
def test_arguments_are_validated(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        LRFinder(**kwargs)
