"""`Recorder`: losses, hyper-parameters and metrics over training, and the epoch table."""

from __future__ import annotations

import math
import time
from typing import Any

import torch

from lamina.optim.hyper import has_hyper, hyper_key
from lamina.train.callback import Callback


class Recorder(Callback):
    """Records each training batch's loss and hyper-parameters, and each epoch's losses and
    metrics. Losses stay on the device until read, so recording never forces a sync.

    Each epoch leaves one row in `history`, a dict keyed by the epoch table's column names
    (`metric_names`: `epoch`, `train_loss`, `valid_loss`, the metrics, `time` in seconds);
    `history_frame()` gives the same rows as a DataFrame. `values` holds the same epochs as
    plain lists `[train_loss, valid_loss, *metrics]`, the shape fastai's `recorder.values`
    has, so a ported `values[-1][1]` still reads the validation loss.

    `losses` and `hps` hold the batches of the epochs that have a row in `history`, and of the
    epoch in progress: when a fit stops on an error or Ctrl-C, the interrupted epoch's batches
    are dropped with it (a resumed fit records them again).
    """

    order = 50

    def __init__(self) -> None:
        self.history: list[dict[str, float]] = []
        self.hps: dict[str, list[float]] = {}
        self._losses: list[torch.Tensor] = []
        self._valid_active = False
        self._valid_loss: torch.Tensor | float = 0.0
        self._valid_count = 0
        self._last: list[float] = []

    @property
    def metric_names(self) -> list[str]:
        """Column names of the epoch table."""
        names = [metric.name for metric in self.learn.metrics]
        return ["epoch", "train_loss", "valid_loss", *names, "time"]

    @property
    def values(self) -> list[list[float]]:
        """One list per epoch: `[train_loss, valid_loss, *metrics]` (no epoch number, no time)."""
        return [[row[name] for name in self.metric_names[1:-1]] for row in self.history]

    def history_frame(self) -> Any:
        """`history` as a pandas DataFrame, one row per epoch."""
        import pandas as pd

        return pd.DataFrame(self.history, columns=self.metric_names if self.history else None)

    @property
    def losses(self) -> list[float]:
        """Every training batch's loss since the fit started."""
        return torch.stack(self._losses).float().cpu().tolist() if self._losses else []

    def before_fit(self) -> None:
        if self.learn.start_epoch == 0 and self.learn.start_batch == 0:
            # (a resumed fit keeps the history loaded with it)
            self.history, self.hps, self._losses = [], {}, []
        self._epoch_first_loss = len(self._losses)

    def before_train(self) -> None:
        # Look the optimizer's keys up once; each batch then reads the last group directly.
        opt = self.learn.opt
        assert opt is not None  # fit builds the optimizer before any event
        self._hp_keys = [(name, *hyper_key(opt.param_groups[-1], name))
                         for name in ("lr", "mom") if has_hyper(opt, name)]  # fmt: skip
        for name, _, _ in self._hp_keys:
            self.hps.setdefault(name, [])

    def before_epoch(self) -> None:
        self._epoch_start = time.perf_counter()
        # A fit resumed mid-epoch has the epoch's first batches in the history already.
        self._epoch_first_loss = len(self._losses) - self.learn.start_batch
        self._last = []

    def after_batch(self) -> None:
        learn = self.learn
        if learn.loss is None or not learn.yb:
            return
        if learn.training:
            if not learn.in_fit:
                return
            self._losses.append(learn.loss)
            assert learn.opt is not None  # fit builds the optimizer before any event
            group = learn.opt.param_groups[-1]
            for name, key, index in self._hp_keys:
                value = group[key] if index is None else group[key][index]
                self.hps[name].append(float(value))
        elif self._valid_active:
            n = len(learn.yb[0]) if hasattr(learn.yb[0], "__len__") else 1
            self._valid_loss = self._valid_loss + learn.loss.float() * n
            self._valid_count += n
            pred, targ = learn.pred, learn.yb[0] if len(learn.yb) == 1 else learn.yb
            for metric in learn.metrics:
                metric.update(pred, targ)

    def before_validate(self) -> None:
        self._valid_active = True
        self._valid_loss, self._valid_count = 0.0, 0
        for metric in self.learn.metrics:
            metric.reset()

    def after_validate(self) -> None:
        if not self._valid_active:  # validation was cancelled before it began
            return
        self._valid_active = False
        loss = float(self._valid_loss / self._valid_count) if self._valid_count else math.nan
        self._last = [loss, *[metric.value for metric in self.learn.metrics]]

    def after_epoch(self) -> None:
        epoch_losses = self._losses[self._epoch_first_loss :]
        train_loss = float(torch.stack(epoch_losses).float().mean()) if epoch_losses else math.nan
        valid = self._last or [math.nan] * (1 + len(self.learn.metrics))
        elapsed = time.perf_counter() - self._epoch_start
        row = [self.learn.epoch, train_loss, *valid, elapsed]
        self.history.append(dict(zip(self.metric_names, row, strict=True)))

    def after_interrupt(self) -> None:
        first = getattr(self, "_epoch_first_loss", len(self._losses))
        del self._losses[first:]
        for values in self.hps.values():
            del values[first:]
        self._valid_active = False

    def last_values(self) -> list[float]:
        """The latest validation loss and metrics."""
        return list(self._last)

    def smooth_loss(self, window: int = 20) -> float:
        """Mean of the last `window` training losses (reads the device once)."""
        recent = self._losses[-window:]
        return float(torch.stack(recent).float().mean()) if recent else math.nan

    def state_dict(self) -> dict[str, Any]:
        return {"history": self.history, "hps": self.hps, "losses": self.losses}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if "history" in state:
            self.history = [dict(row) for row in state["history"]]
        else:  # checkpoints of lamina 0.2 and earlier: rows [epoch, train, valid, *metrics, time]
            self.history = [dict(zip(self.metric_names, row, strict=False))
                            for row in state.get("values", [])]  # fmt: skip
        self.hps = {key: list(value) for key, value in state.get("hps", {}).items()}
        self._losses = [torch.tensor(loss) for loss in state.get("losses", [])]

    def plot_loss(
        self,
        skip_start: int = 5,
        with_valid: bool = True,
        figsize: tuple[float, float] | None = None,
    ) -> Any:
        """Plot training loss per batch (and validation loss per epoch); returns the figure
        (shown once in Jupyter; `fig.savefig(path)` in a script)."""
        from lamina.core.figures import new_figure

        fig = new_figure(figsize=figsize)
        ax = fig.subplots()
        losses = self.losses
        ax.plot(range(skip_start, len(losses)), losses[skip_start:], label="train")
        if with_valid and self.history:
            per_epoch = len(losses) / max(len(self.history), 1)
            ax.plot(
                [per_epoch * (i + 1) for i in range(len(self.history))],
                [row["valid_loss"] for row in self.history],
                label="valid",
            )
        ax.set_xlabel("batch")
        ax.set_ylabel("loss")
        ax.legend()
        return fig

    def plot_sched(self, figsize: tuple[float, float] | None = None) -> Any:
        """Plot the recorded hyper-parameters (lr, momentum) per batch; returns the figure
        (shown once in Jupyter; `fig.savefig(path)` in a script)."""
        from lamina.core.figures import new_figure

        n = max(len(self.hps), 1)
        fig = new_figure(figsize=figsize or (6 * n, 4))
        axes = fig.subplots(1, n, squeeze=False)[0]
        for ax, (name, values) in zip(axes, self.hps.items(), strict=False):
            ax.plot(values)
            ax.set_title(name)
            ax.set_xlabel("batch")
        return fig
