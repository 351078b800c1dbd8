"""`TensorBoardCallback`: training loss, learning rates and epoch metrics for TensorBoard."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from lamina.core.ranks import is_main_process
from lamina.optim.hyper import get_hyper
from lamina.train.callback import Callback


class TensorBoardCallback(Callback):
    """Logs to TensorBoard through `torch.utils.tensorboard.SummaryWriter` (needs `tensorboard`).

    Every `every_n_batches` training batches it writes `train/loss` and the learning rate of each
    parameter group (`train/lr`, or `train/lr_{i}` with several groups) at step
    `learn.train_iter`; reading the loss syncs with the device only on those batches. After each
    epoch it writes every column of the epoch table as `epoch/{name}` at step `epoch`.

    Args:
        log_dir: where event files go; None uses `learn.path / "runs"`.
        every_n_batches: how often the training loss and learning rates are written.

    Example:
        >>> learn.fit(3, cbs=TensorBoardCallback())  # then: tensorboard --logdir runs
    """

    order = 55  # after Recorder (50) has appended the epoch's row
    run_valid = False

    def __init__(self, log_dir: str | Path | None = None, every_n_batches: int = 10) -> None:
        if log_dir is not None and not isinstance(log_dir, (str, Path)):
            raise ValueError(f"log_dir must be None or a path, got {log_dir!r}")
        if (
            not isinstance(every_n_batches, int)
            or isinstance(every_n_batches, bool)
            or every_n_batches < 1
        ):
            raise ValueError(f"every_n_batches must be a positive integer, got {every_n_batches!r}")
        self.log_dir, self.every_n_batches = log_dir, every_n_batches
        self.writer: Any = None

    def before_fit(self) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as error:
            raise ImportError(
                "TensorBoardCallback needs the tensorboard package: pip install tensorboard"
            ) from error
        self._close()
        if not is_main_process():  # under DDP rank 0 writes the one log
            return
        log_dir = self.learn.path / "runs" if self.log_dir is None else Path(self.log_dir)
        self.writer = SummaryWriter(log_dir=str(log_dir))

    def after_batch(self) -> None:
        learn = self.learn
        if self.writer is None or not learn.in_fit or learn.loss is None:
            return
        step = learn.train_iter
        if step % self.every_n_batches:
            return
        self.writer.add_scalar("train/loss", float(learn.loss), step)
        assert learn.opt is not None  # fit builds the optimizer before any event
        lrs = get_hyper(learn.opt, "lr")
        for index, lr in enumerate(lrs):
            self.writer.add_scalar("train/lr" if len(lrs) == 1 else f"train/lr_{index}", lr, step)

    def after_epoch(self) -> None:
        if self.writer is None:
            return
        recorder = self.learn.recorder
        for name, value in recorder.history[-1].items():
            if name != "epoch" and not math.isnan(value):
                self.writer.add_scalar(f"epoch/{name}", value, self.learn.epoch)
        self.writer.flush()

    def _close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def after_fit(self) -> None:
        self._close()
