"""`ParamScheduler`: sets any optimizer hyper-parameter from a schedule at every training batch."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from lamina.optim.hyper import set_hyper
from lamina.train.callback import Callback

Schedule = Callable[[float], "float | np.ndarray"]


class ParamScheduler(Callback):
    """Before each training batch, sets each hyper-parameter to `schedule(pct_train)`.

    Args:
        scheds: hyper-parameter name (`lr`, `mom`, `sqr_mom`, `wd`, ...) to a schedule, a function
            of training progress in [0, 1] returning one value or one per parameter group.

    Schedules are pure functions of progress, so resuming from a checkpoint needs no saved
    scheduler state beyond the learner's position (`epochs_done`).
    """

    order = 10
    run_valid = False

    def __init__(self, scheds: Mapping[str, Schedule]) -> None:
        self.scheds = scheds

    def before_batch(self) -> None:
        if not self.learn.in_fit:
            return
        pct = self.learn.pct_train
        assert self.learn.opt is not None  # fit builds the optimizer before any event
        for name, schedule in self.scheds.items():
            set_hyper(self.learn.opt, name, schedule(pct))
