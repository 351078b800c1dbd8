"""Ctrl-C (or an error) during a fit leaves a consistent learner (issue 13, items 11 and 12)."""

from __future__ import annotations

import pytest

from lamina import Callback
from lamina.testing import tiny_learner


class InterruptAt(Callback):
    """Raises KeyboardInterrupt in `event` at epoch `epoch`, batch `batch` of the phase."""

    order = 100

    def __init__(self, event: str, epoch: int, batch: int, training: bool = True) -> None:
        # (epoch and training are the learner's, read-only on a callback: other names here)
        self.event, self.at_epoch, self.batch, self.in_training = event, epoch, batch, training

    def after_batch(self) -> None:
        learn = self.learn
        if (
            self.event == "after_batch"
            and learn.training == self.in_training
            and (learn.epoch, learn.iter) == (self.at_epoch, self.batch)
        ):
            raise KeyboardInterrupt


def test_a_new_fit_counts_its_epochs_from_zero() -> None:
    learn = tiny_learner(lr=0.05)
    learn.fit(3)
    assert learn.epochs_done == 3
    with pytest.raises(KeyboardInterrupt):
        learn.fit_one_cycle(5, cbs=InterruptAt("after_batch", epoch=0, batch=2))
    assert (learn.epochs_done, learn.batches_done) == (0, 3)


def test_interrupt_drops_the_partial_epochs_losses() -> None:
    learn = tiny_learner(lr=0.05)
    n_batches = len(learn.dls.train)
    with pytest.raises(KeyboardInterrupt):
        learn.fit(3, cbs=InterruptAt("after_batch", epoch=1, batch=2))
    assert len(learn.recorder.values) == 1
    assert len(learn.recorder.losses) == n_batches
    assert all(len(values) == n_batches for values in learn.recorder.hps.values())


def test_interrupt_during_validation_resets_the_phase_flags() -> None:
    learn = tiny_learner(lr=0.05)
    n_batches = len(learn.dls.train)
    with pytest.raises(KeyboardInterrupt):
        learn.fit(2, cbs=InterruptAt("after_batch", epoch=0, batch=0, training=False))
    assert learn.training is False
    assert learn.recorder._valid_active is False
    assert learn.recorder.values == []
    assert learn.recorder.losses == []
    assert (learn.epochs_done, learn.batches_done) == (0, n_batches)
    learn.fit(1)  # usable afterwards, with a clean table
    assert len(learn.recorder.values) == 1
    assert len(learn.recorder.losses) == n_batches


def test_interrupted_validate_resets_the_recorder() -> None:
    learn = tiny_learner(lr=0.05)
    with pytest.raises(KeyboardInterrupt):
        learn.validate(cbs=InterruptAt("after_batch", epoch=0, batch=1, training=False))
    assert learn.recorder._valid_active is False
    assert learn.training is False
