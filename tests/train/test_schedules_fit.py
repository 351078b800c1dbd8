"""The Learner's scheduled fits follow their schedules, per parameter group, batch by batch."""

from __future__ import annotations

import numpy as np
import pytest

from lamina.optim.hyper import get_hyper
from lamina.optim.schedules import one_cycle_schedules
from lamina.testing import tiny_learner
from lamina.train.callback import Callback


class GroupLogger(Callback):
    """Records every group's LR and whether the body and head train, at each training batch."""

    order = 20  # after ParamScheduler (10) has set this batch's values
    run_valid = False

    def __init__(self) -> None:
        self.lrs: list[list[float]] = []
        self.body_trains: list[bool] = []
        self.norm_trains: list[bool] = []
        self.head_trains: list[bool] = []

    def before_batch(self) -> None:
        model = self.learn.model
        self.lrs.append(get_hyper(self.learn.opt, "lr"))
        self.body_trains.append(model.body[0].weight.requires_grad)
        self.norm_trains.append(model.body[1].weight.requires_grad)
        self.head_trains.append(model.head.weight.requires_grad)


def test_fit_one_cycle_records_the_one_cycle_schedule() -> None:
    learn = tiny_learner()
    learn.fit_one_cycle(2, 1e-2)
    lrs, moms = np.array(learn.recorder.hps["lr"]), np.array(learn.recorder.hps["mom"])
    n_batches = 2 * 16
    assert len(lrs) == len(moms) == n_batches
    expected = one_cycle_schedules(np.array([1e-2]), 25.0, 1e5, 0.25, (0.95, 0.85, 0.95))
    pcts = np.arange(n_batches) / n_batches
    assert lrs == pytest.approx([expected["lr"](pct)[0] for pct in pcts], rel=1e-9)
    assert lrs[0] == pytest.approx(1e-2 / 25)
    assert int(np.argmax(lrs)) == 8  # pct_start * 32 batches
    assert lrs[8] == pytest.approx(1e-2)
    assert lrs[-1] < 1e-4
    assert moms[0] == pytest.approx(0.95)
    assert int(np.argmin(moms)) == 8
    assert moms[8] == pytest.approx(0.85)
    assert np.corrcoef(lrs, moms)[0, 1] < -0.99  # momentum mirrors the learning rate
    assert learn.validate()[0] < 13  # and it trained (the untrained loss is about 13)


def test_the_learners_moms_are_the_one_cycle_default_and_a_call_overrides_them() -> None:
    learn = tiny_learner(moms=(0.8, 0.7, 0.8))
    learn.fit_one_cycle(1, 1e-2)
    moms = np.array(learn.recorder.hps["mom"])
    assert moms[0] == pytest.approx(0.8)
    assert moms.min() == pytest.approx(0.7)
    learn.fit_one_cycle(1, 1e-2, moms=(0.9, 0.5, 0.9))
    assert np.array(learn.recorder.hps["mom"]).min() == pytest.approx(0.5)


@pytest.mark.parametrize("bad", [(0.9, 0.8), (0.95, 0.85, 1.0), "0.9", (0.9, -0.1, 0.9)])
def test_bad_moms_are_refused(bad) -> None:
    with pytest.raises(ValueError, match="moms"):
        tiny_learner(moms=bad)
    with pytest.raises(ValueError, match="moms"):
        tiny_learner().fit_one_cycle(1, 1e-2, moms=bad)


def test_lr_slice_spaces_group_rates_geometrically() -> None:
    logger = GroupLogger()
    learn = tiny_learner(classification=True)
    learn.fit_one_cycle(1, slice(1e-4, 1e-2), cbs=[logger])
    lrs = np.array(logger.lrs)  # (batches, groups)
    assert lrs.shape == (16, 2)
    assert lrs[:, 1] / lrs[:, 0] == pytest.approx(np.full(16, 100.0))
    assert lrs.max(axis=0) == pytest.approx([1e-4, 1e-2])


def test_fit_flat_cos_stays_flat_then_anneals() -> None:
    learn = tiny_learner()
    learn.fit_flat_cos(2, 1e-2, pct_start=0.75)
    lrs = np.array(learn.recorder.hps["lr"])
    assert lrs[:24] == pytest.approx(np.full(24, 1e-2))
    assert np.all(np.diff(lrs[24:]) < 0)
    assert lrs[-1] < 1e-3


def test_fit_sgdr_restarts_at_each_cycle() -> None:
    learn = tiny_learner()
    learn.fit_sgdr(2, 1, 1e-2, cycle_mult=2)
    lrs = np.array(learn.recorder.hps["lr"])
    assert len(learn.recorder.values) == 3  # epochs: 1 + 2
    assert len(lrs) == 48
    assert lrs[0] == lrs[16] == pytest.approx(1e-2)  # the restart
    assert np.all(np.diff(lrs[:16]) < 0)
    assert np.all(np.diff(lrs[16:]) < 0)
    assert lrs[15] < 1e-4
    assert lrs[32] == pytest.approx(5e-3)  # half way through the second cycle


def test_fine_tune_freezes_the_body_then_unfreezes_it() -> None:
    logger = GroupLogger()
    learn = tiny_learner(classification=True)
    start = learn.validate()[0]
    learn.fine_tune(1, base_lr=1e-2, freeze_epochs=1, cbs=[logger])
    assert len(logger.lrs) == 32
    assert logger.body_trains == [False] * 16 + [True] * 16
    assert logger.norm_trains == [True] * 32  # normalization layers always adapt
    assert logger.head_trains == [True] * 32
    second = np.array(logger.lrs[16:])
    assert second[:, 1] / second[:, 0] == pytest.approx(np.full(16, 100.0))  # lr_mult
    assert 4.9e-3 < second[:, 1].max() <= 5e-3  # base_lr halved after the frozen phase
    assert learn.validate()[0] < 0.7 * start
