"""TrackerCallback, EarlyStopping and ReduceLROnPlateau, driven by scripted epoch values."""

from __future__ import annotations

import pytest

from lamina import AvgMetric, Callback
from lamina.optim.hyper import get_hyper
from lamina.train.callbacks import EarlyStopping, ReduceLROnPlateau, TrackerCallback

from .scripted import ScriptedColumn, small_learner


@pytest.mark.parametrize(
    ("monitor", "comp"),
    [("valid_loss", "min"), ("train_loss", "min"), ("error_rate", "min"), ("rmse", "min"),
     ("perplexity", "min"), ("accuracy", "max"), ("f1_score", "max")],
)  # fmt: skip
def test_infers_the_direction_from_the_name(monitor: str, comp: str) -> None:
    assert TrackerCallback(monitor).comp == comp


def test_tracks_the_best_epoch() -> None:
    tracker = TrackerCallback("valid_loss", min_delta=0.05)
    learn = small_learner(cbs=[ScriptedColumn([1.0, 0.9, 0.88, 0.7]), tracker])
    learn.fit(4)
    assert (tracker.best, tracker.best_epoch) == (0.7, 3)


def test_higher_is_better_for_metrics() -> None:
    tracker = TrackerCallback("accuracy")
    accuracy = AvgMetric(lambda pred, targ: (pred.argmax(-1) == targ).float().mean(), "accuracy")
    learn = small_learner(
        classification=True,
        metrics=accuracy,
        cbs=[ScriptedColumn([0.5, 0.8, 0.7], name="accuracy"), tracker],
    )
    learn.fit(3)
    assert (tracker.best, tracker.best_epoch) == (0.8, 1)


def test_unknown_monitor_lists_the_columns() -> None:
    learn = small_learner(cbs=[EarlyStopping("accuracy")])
    with pytest.raises(
        ValueError, match=r"monitor 'accuracy' .*available: \['epoch', 'train_loss'"
    ):
        learn.fit(1)


def test_early_stopping_after_patience_epochs_without_improvement() -> None:
    stop = EarlyStopping(patience=2)
    learn = small_learner(cbs=[ScriptedColumn([1.0, 0.9, 0.95, 0.92, 0.5, 0.4]), stop])
    learn.fit(6)
    assert stop.stopped_epoch == 3
    assert len(learn.recorder.values) == 4
    assert (stop.best, stop.best_epoch) == (0.9, 1)


def test_early_stopping_min_delta_ignores_small_gains() -> None:
    stop = EarlyStopping(min_delta=0.2, patience=2)
    learn = small_learner(cbs=[ScriptedColumn([1.0, 0.9, 0.85, 0.1]), stop])
    learn.fit(4)
    assert stop.stopped_epoch == 2


def test_early_stopping_lets_an_improving_fit_finish() -> None:
    stop = EarlyStopping("train_loss", patience=1)
    learn = small_learner()
    learn.fit(3, lr=0.05, cbs=[stop])
    assert stop.stopped_epoch is None
    assert len(learn.recorder.values) == 3


def test_reduce_lr_on_plateau_divides_every_group() -> None:
    reduce = ReduceLROnPlateau(patience=2, factor=4.0, min_lr=1e-3)
    values = [1.0, 1.1, 1.2, 1.3, 1.4, 0.5, 0.6, 0.7]
    lrs = []

    learn = small_learner(classification=True, cbs=[ScriptedColumn(values), reduce])
    learn.fit(8, lr=[8e-3, 1.6e-2], cbs=[_LrLog(lrs)])
    # plateau after epochs 2 and 4 (reset after each cut), improvement at 5, plateau at 7
    assert lrs[2] == pytest.approx([2e-3, 4e-3])
    assert lrs[4] == pytest.approx([1e-3, 1e-3])  # floored at min_lr
    assert lrs[7] == pytest.approx([1e-3, 1e-3])
    assert lrs[1] == pytest.approx([8e-3, 1.6e-2])


class _LrLog(Callback):
    order = 90

    def __init__(self, log: list) -> None:
        self.log = log

    def after_epoch(self) -> None:
        self.log.append(get_hyper(self.learn.opt, "lr"))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: TrackerCallback(comp="lower"), "comp must be None, 'min' or 'max', got 'lower'"),
        (lambda: TrackerCallback(min_delta=-1), "min_delta must be a non-negative number, got -1"),
        (lambda: TrackerCallback(monitor=""), "monitor must be a column name, got ''"),
        (lambda: EarlyStopping(patience=0), "patience must be a positive integer, got 0"),
        (lambda: ReduceLROnPlateau(factor=0.5), "factor must be a finite number above 1, got 0.5"),
        (lambda: ReduceLROnPlateau(min_lr=-1), "min_lr must be a non-negative number, got -1"),
    ],
)
def test_rejects_bad_arguments(make, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()
