"""`TerminateOnNaN`: stop as soon as the training loss is not finite."""

from __future__ import annotations

import math

import torch
import torch.distributed as dist

from lamina.core.ranks import is_distributed
from lamina.train.callback import Callback


class TerminateOnNaN(Callback):
    """Raises `FloatingPointError` when a training loss is NaN or infinite.

    The loss is checked before the optimizer step, so the weights left behind are those of the
    last finite step. On the CPU it is read right after the loss. On CUDA reading it at once
    would make the host wait for the forward pass of every batch; instead it is copied to pinned
    host memory without waiting, and read at `before_step`, by which time the host has queued
    the backward pass and the copy has usually landed. Under DDP the processes agree (one small
    all-reduce per batch), so all of them stop at the same batch when any one's loss is not
    finite.
    """

    order = -10
    run_valid = False

    def __init__(self) -> None:
        self._host: torch.Tensor | None = None  # pinned copy of the loss, on CUDA
        self._copied: torch.cuda.Event | None = None
        self._pending = False

    @property
    def name(self) -> str:
        return "terminate_on_nan"  # the generic rule would split "NaN" into "na_n"

    def after_loss(self) -> None:
        assert self.learn.loss is not None, "after_loss runs once the loss exists"
        loss = self.learn.loss.detach()
        if is_distributed():
            # Every process must stop at the same batch, or the others would wait forever in
            # DDP's gradient exchange: share "some loss is not finite" as a NaN loss.
            bad = (~torch.isfinite(loss)).float().reshape(1)
            dist.all_reduce(bad, op=dist.ReduceOp.MAX)
            loss = torch.where(bad > 0, torch.nan, loss.float().reshape(1))
        if loss.device.type != "cuda":
            self._check(loss.item())
            return
        if self._host is None or self._copied is None:
            self._host = torch.empty((), dtype=torch.float32, pin_memory=True)
            self._copied = torch.cuda.Event()
        self._host.copy_(loss.float().reshape(()), non_blocking=True)
        self._copied.record()
        self._pending = True

    def before_step(self) -> None:
        self._read()

    def after_batch(self) -> None:
        self._read()  # a batch whose step was skipped (say, by gradient accumulation)

    def after_cancel_batch(self) -> None:
        self._pending = False

    def _read(self) -> None:
        if self._pending:
            assert self._host is not None, "set when pending"
            assert self._copied is not None, "set when pending"
            self._pending = False
            self._copied.synchronize()
            self._check(self._host.item())

    def _check(self, loss: float) -> None:
        if not math.isfinite(loss):
            learn = self.learn
            raise FloatingPointError(
                f"training loss became {loss} at epoch {learn.epoch}, batch {learn.iter}; "
                "training stopped and the model keeps the weights of the last finite step "
                "(try a lower learning rate, gradient clipping, or check the inputs)"
            )
