"""Callbacks that watch one column of the epoch table: `TrackerCallback`, `EarlyStopping` and
`ReduceLROnPlateau` (`SaveModel` lives in `save_model.py`)."""

from __future__ import annotations

import math
from typing import Any

from lamina.optim.hyper import get_hyper, set_hyper
from lamina.train.callback import Callback, CancelFit

_LOWER_IS_BETTER = ("loss", "error", "mse", "mae", "rmse", "perplexity")


def _check_count(name: str, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


class TrackerCallback(Callback):
    """Tracks the best value of column `monitor` of `learn.recorder.history` after each epoch.

    Args:
        monitor: a column name from `learn.recorder.metric_names` (`valid_loss`, `train_loss`,
            or a metric's name).
        comp: "min" or "max"; None infers it: lower is better for names containing loss, error,
            mse, mae, rmse or perplexity, higher is better otherwise.
        min_delta: how much the value must beat the best by to count as an improvement.

    After each epoch `self.new_best` says whether it improved, `self.best` is the best value and
    `self.best_epoch` its epoch. Subclasses act on these in `after_epoch` after calling the base.
    """

    order = 70  # after Recorder (50) has appended the epoch's row and the table is printed (60)

    def __init__(
        self, monitor: str = "valid_loss", comp: str | None = None, min_delta: float = 0.0
    ) -> None:
        if not isinstance(monitor, str) or not monitor:
            raise ValueError(f"monitor must be a column name, got {monitor!r}")
        if comp not in (None, "min", "max"):
            raise ValueError(f"comp must be None, 'min' or 'max', got {comp!r}")
        if not isinstance(min_delta, (int, float)) or not 0 <= min_delta < math.inf:
            raise ValueError(f"min_delta must be a non-negative number, got {min_delta!r}")
        if comp is None:
            lower = any(word in monitor.lower() for word in _LOWER_IS_BETTER)
            comp = "min" if lower else "max"
        self.monitor, self.comp, self.min_delta = monitor, comp, float(min_delta)
        self._reset()

    def _reset(self) -> None:
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.new_best = False

    def before_fit(self) -> None:
        names = self.learn.recorder.metric_names
        if self.monitor not in names:
            raise ValueError(f"monitor {self.monitor!r} is not a column of the epoch table; "
                             f"available: {names}")  # fmt: skip
        if getattr(self.learn, "start_epoch", 0) == 0:  # resuming keeps the loaded best
            self._reset()

    def improved(self, value: float) -> bool:
        """Whether `value` beats the best so far by more than `min_delta`."""
        if math.isnan(value):
            return False
        if self.best is None:
            return True
        if self.comp == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def after_epoch(self) -> None:
        value = float(self.learn.recorder.history[-1][self.monitor])
        self.new_best = self.improved(value)
        if self.new_best:
            self.best, self.best_epoch = value, self.learn.epoch

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.best_epoch = state.get("best"), state.get("best_epoch")


class EarlyStopping(TrackerCallback):
    """Stops training (`CancelFit`) after `patience` epochs in a row without improvement.

    Example:
        >>> learn.fit(50, cbs=EarlyStopping("valid_loss", patience=3))
    """

    order = 80  # after SaveModel, so the epoch that stops training is still considered

    def __init__(
        self,
        monitor: str = "valid_loss",
        comp: str | None = None,
        min_delta: float = 0.0,
        patience: int = 1,
    ) -> None:
        super().__init__(monitor, comp, min_delta)
        _check_count("patience", patience)
        self.patience = patience
        self.wait = 0
        self.stopped_epoch: int | None = None

    def before_fit(self) -> None:
        super().before_fit()
        if getattr(self.learn, "start_epoch", 0) == 0:
            self.wait, self.stopped_epoch = 0, None

    def after_epoch(self) -> None:
        super().after_epoch()
        self.wait = 0 if self.new_best else self.wait + 1
        if self.wait >= self.patience:
            self.stopped_epoch = self.learn.epoch
            raise CancelFit

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "wait": self.wait}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.wait = int(state.get("wait", 0))


class ReduceLROnPlateau(TrackerCallback):
    """Divides every parameter group's learning rate by `factor` after `patience` epochs in a
    row without improvement, never going below `min_lr`.

    Meant for `fit` at a constant rate: a schedule (`fit_one_cycle`) would overwrite the rate.
    """

    def __init__(
        self,
        monitor: str = "valid_loss",
        comp: str | None = None,
        min_delta: float = 0.0,
        patience: int = 1,
        factor: float = 10.0,
        min_lr: float = 0.0,
    ) -> None:
        super().__init__(monitor, comp, min_delta)
        _check_count("patience", patience)
        if not isinstance(factor, (int, float)) or not 1 < factor < math.inf:
            raise ValueError(f"factor must be a finite number above 1, got {factor!r}")
        if not isinstance(min_lr, (int, float)) or not 0 <= min_lr < math.inf:
            raise ValueError(f"min_lr must be a non-negative number, got {min_lr!r}")
        self.patience, self.factor, self.min_lr = patience, float(factor), float(min_lr)
        self.wait = 0

    def before_fit(self) -> None:
        super().before_fit()
        if getattr(self.learn, "start_epoch", 0) == 0:
            self.wait = 0

    def after_epoch(self) -> None:
        super().after_epoch()
        self.wait = 0 if self.new_best else self.wait + 1
        if self.wait >= self.patience:
            self.wait = 0
            opt = self.learn.opt
            assert opt is not None  # fit builds the optimizer before any event
            lrs = get_hyper(opt, "lr")
            set_hyper(opt, "lr", [max(lr / self.factor, self.min_lr) for lr in lrs])

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "wait": self.wait}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.wait = int(state.get("wait", 0))
