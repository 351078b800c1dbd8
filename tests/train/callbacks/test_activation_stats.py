"""ActivationStats: per-layer output statistics over training, hooks always removed."""

from __future__ import annotations

import copy

import pytest
import torch
from matplotlib.figure import Figure
from torch import nn

from lamina import ActivationStats, Callback
from lamina.testing import tiny_learner


def _no_hooks(model: nn.Module) -> bool:
    return all(not m._forward_hooks for m in model.modules())


class KeepFirstBatch(Callback):
    """Keeps the first training batch and a copy of the model that is about to see it."""

    order = -100

    def before_batch(self) -> None:
        if self.learn.training and self.learn.train_iter == 0:
            self.x = self.learn.xb[0].clone()
            self.model_copy = copy.deepcopy(self.learn.model)


class FailAt(Callback):
    def __init__(self, error: BaseException) -> None:
        self.error = error

    def after_batch(self) -> None:
        if self.learn.training and self.learn.iter == 2:
            raise self.error


def test_stats_have_one_row_per_batch_and_one_column_per_layer() -> None:
    learn = tiny_learner(classification=True)
    stats = ActivationStats()
    learn.fit(2, 1e-2, cbs=stats)
    n_batches = 2 * len(learn.dls.train)
    assert stats.layer_names == ["body.0", "body.1", "head"]
    for values in (stats.means, stats.stds, stats.near_zero):
        assert values.shape == (n_batches, 3)
        assert values.device.type == "cpu"
        assert torch.isfinite(values).all()
    assert stats.iters == list(range(n_batches))
    assert _no_hooks(learn.model)


def test_stats_match_a_manual_forward_pass() -> None:
    learn = tiny_learner(classification=True)
    first, stats = KeepFirstBatch(), ActivationStats(eps=0.05)
    learn.fit(1, 1e-2, cbs=[first, stats])
    model = first.model_copy.train()  # BatchNorm normalizes with the batch's own statistics
    linear = model.body[0](first.x)
    normed = model.body[1](linear)
    head = model.head(torch.relu(normed))
    for layer, out in enumerate((linear, normed, head)):
        out = out.detach()
        torch.testing.assert_close(stats.means[0, layer], out.mean())
        torch.testing.assert_close(stats.stds[0, layer], out.std())
        torch.testing.assert_close(stats.near_zero[0, layer], (out.abs() < 0.05).float().mean())


def test_the_output_of_a_relu_is_often_near_zero() -> None:
    learn = tiny_learner(classification=True)
    stats = ActivationStats(modules=[learn.model.body, learn.model.head])
    learn.fit(1, 1e-2, cbs=stats)
    assert stats.layer_names == ["body", "head"]
    after_relu, head = stats.near_zero[:, 0], stats.near_zero[:, 1]
    assert (after_relu > 0.3).all()  # about half the units of a batch-normed layer are off
    assert (head < after_relu).all()
    assert (stats.means[:, 0] > 0).all()


def test_every_and_histograms() -> None:
    learn = tiny_learner(classification=True)
    stats = ActivationStats(every=3, with_hist=True, hist_bins=20, hist_range=(-8.0, 8.0))
    learn.fit(2, 1e-2, cbs=stats)
    n_batches = 2 * len(learn.dls.train)
    assert stats.iters == list(range(0, n_batches, 3))
    assert stats.means.shape == (len(stats.iters), 3)
    assert stats.hists.shape == (len(stats.iters), 3, 20)
    # Every value of the batch-normed layer (32 rows x 16 units) falls in the range.
    assert (stats.hists[:, 1].sum(-1) == 32 * 16).all()


def test_a_watched_layer_that_does_not_run_records_nan() -> None:
    learn = tiny_learner(classification=True)
    outside = nn.Linear(2, 2)
    stats = ActivationStats(modules=[learn.model.head, outside])
    learn.fit(1, 1e-2, cbs=stats)
    assert stats.layer_names == ["head", "Linear"]
    assert torch.isfinite(stats.means[:, 0]).all()
    assert torch.isnan(stats.means[:, 1]).all()


def test_each_fit_starts_a_fresh_record_and_validation_records_nothing() -> None:
    learn = tiny_learner(classification=True)
    stats = ActivationStats()
    learn.add_cbs([stats])
    assert learn.activation_stats is stats
    learn.fit(2, 1e-2)
    learn.fit(1, 1e-2)
    assert len(stats.means) == len(learn.dls.train)
    learn.validate()
    assert len(stats.means) == len(learn.dls.train)
    assert _no_hooks(learn.model)


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt()])
def test_hooks_are_removed_when_a_fit_fails(error: BaseException) -> None:
    learn = tiny_learner(classification=True)
    stats = ActivationStats()
    with pytest.raises(type(error)):
        learn.fit(1, 1e-2, cbs=[stats, FailAt(error)])
    assert _no_hooks(learn.model)
    assert stats.hooks is None
    assert stats.means.shape == (3, 3)  # what was recorded before the error stays readable


def test_plots() -> None:
    learn = tiny_learner(classification=True)
    stats = ActivationStats(with_hist=True)
    with pytest.raises(ValueError, match="no batches recorded"):
        stats.plot_layer_stats(0)
    learn.fit(1, 1e-2, cbs=stats)
    fig = stats.plot_layer_stats(-1)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 3
    assert fig.axes[0].lines[0].get_ydata().shape == (len(stats.iters),)
    assert isinstance(stats.color_dim(1), Figure)
    with pytest.raises(ValueError, match=r"layer index must be in \[-3, 3\)"):
        stats.plot_layer_stats(3)
    plain = ActivationStats()
    learn.fit(1, 1e-2, cbs=plain)
    with pytest.raises(ValueError, match="with_hist=True"):
        plain.color_dim(0)


class ScaleOnly(nn.Module):
    """A parameter held by a module with children: no leaf layer has parameters."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1))
        self.act = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x * self.scale)


def test_a_model_without_leaf_layers_with_params_is_refused() -> None:
    learn = tiny_learner()
    learn.model = ScaleOnly()
    with pytest.raises(ValueError, match=r"ActivationStats\(modules=\[...\]\)"):
        learn.fit(1, cbs=ActivationStats())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"every": 0}, "every must be a positive integer"),
        ({"eps": 0}, "eps must be a positive number"),
        ({"hist_bins": 0}, "hist_bins must be a positive integer"),
        ({"hist_range": (1.0, 1.0)}, "low < high"),
        ({"modules": ["body"]}, "modules must be nn.Modules"),
    ],
)
def test_bad_arguments_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ActivationStats(**kwargs)


@pytest.mark.gpu
def test_recording_a_batch_does_not_wait_for_the_gpu() -> None:
    from types import SimpleNamespace

    from lamina.testing import TinyMLP

    model = TinyMLP().cuda()
    stats = ActivationStats(with_hist=True)
    stats.learn = SimpleNamespace(model=model, train_iter=0)  # type: ignore[assignment]
    stats.before_fit()
    x = torch.randn(32, 8, device="cuda")
    torch.cuda.set_sync_debug_mode("error")
    try:
        for step in range(3):
            stats.learn.train_iter = step
            stats.before_batch()
            model(x)
            stats.after_batch()
    finally:
        torch.cuda.set_sync_debug_mode("default")
    stats.after_fit()
    assert stats.means.shape == (3, 3)
    torch.testing.assert_close(stats.means[0, 2], model(x).mean().cpu())
