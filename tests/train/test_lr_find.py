"""The LR finder: suggestions in range and sensible, and the learner left exactly as it was."""

from __future__ import annotations

import copy
import math

import matplotlib
import numpy as np
import pytest
import torch

from lamina.testing import tiny_learner
from lamina.train.lr_find import (
    LRFinder,
    LRFindResult,
    SuggestedLRs,
    suggest_lrs,
    useful_loss_range,
)

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


def test_the_sweep_prints_no_epoch_rows(capsys: pytest.CaptureFixture[str]) -> None:
    learn = tiny_learner(silent=False)
    learn.lr_find(show_plot=False)  # 100 batches: six whole epochs of 16, each with no valid
    out, err = capsys.readouterr()
    assert out == ""
    assert "nan" not in out + err
    learn.fit(1)  # the table is back for training
    assert capsys.readouterr().out.splitlines()[0].split()[:2] == ["epoch", "train_loss"]


def test_the_sweep_leaves_no_table_in_a_notebook(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.train.callbacks.notebook_fakes import fake_notebook

    outputs = fake_notebook(monkeypatch)
    tiny_learner(silent=False).lr_find(num_it=40, show_plot=False)
    (bar,) = outputs  # no table was shown
    assert "epoch 1 train" in "".join(bundle["text/plain"] for bundle in bar.bundles)
    assert bar.last == {"text/html": "", "text/plain": ""}  # and the bar went when it was done


def _swept(losses: np.ndarray) -> LRFindResult:
    lrs = np.geomspace(1e-6, 10, len(losses))
    result = LRFindResult(*suggest_lrs(list(lrs), list(losses)))
    result.lrs, result.losses, result.smooth_losses = list(lrs), list(losses), list(losses)
    return result


def test_plot_cuts_off_the_divergence_and_marks_the_suggestions() -> None:
    import matplotlib.pyplot as plt

    x = np.linspace(0, 1, 80)
    # from 2.3 down to a minimum of 0.4 at x = 0.8, then a spike to a thousand
    losses = np.where(x < 0.8, 2.3 - 1.9 * (x / 0.8) ** 2, 0.4 + 1e3 * (x - 0.8) ** 3 * 125)
    result = _swept(losses)
    try:
        ax = result.plot().axes[0]
        bottom, top = ax.get_ylim()
        assert bottom < 0.4 < 2.3 < top < 3  # the whole fall, not the spike
        assert max(result.smooth_losses[:-3]) > 100  # (the spike was plotted, just cut off)
        labels = [text.get_text() for text in ax.get_legend().get_texts()]
        for name in ("valley", "steepest", "minimum"):
            assert f"{name}: {getattr(result, name):.2e}" in labels
        marked = [line for line in ax.get_lines() if line.get_marker() in ("o", "^", "s")]
        assert [line.get_xdata()[0] for line in marked] == pytest.approx(list(result))
        for line in marked:
            assert bottom < line.get_ydata()[0] < top
    finally:
        plt.close("all")


def test_useful_loss_range_of_a_flat_curve_is_not_empty() -> None:
    bottom, top = useful_loss_range([1.0, 1.0, 1.0])
    assert bottom < 1.0 < top
