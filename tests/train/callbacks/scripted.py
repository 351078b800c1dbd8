"""Test helpers: a callback that scripts a column of the epoch table, and a small learner."""

from __future__ import annotations

from typing import Any

from lamina import Callback, Learner
from lamina.testing import synth_classification, synth_regression, tiny_learner


class ScriptedColumn(Callback):
    """Sets column `name` of each epoch's row to `values[epoch]` before trackers read it."""

    order = 65  # after Recorder (50) and the printed table (60), before trackers (70)

    def __init__(self, values: list[float], name: str = "valid_loss") -> None:
        self.values, self.column = values, name

    def after_epoch(self) -> None:
        self.learn.recorder.history[-1][self.column] = self.values[self.learn.epoch]


def small_learner(classification: bool = False, **kwargs: Any) -> Learner:
    """`tiny_learner` on a few batches per epoch: for tests where the training itself is not
    what is checked."""
    learn = tiny_learner(classification=classification, **kwargs)
    if classification:
        learn.dls = synth_classification(n_train=64, n_valid=32, bs=32, device="cpu")
    else:
        learn.dls = synth_regression(n_train=32, n_valid=16, bs=16, device="cpu")
    return learn
