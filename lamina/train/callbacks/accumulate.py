"""`GradientAccumulation`: one optimizer step per several batches, as if they were one batch."""

from __future__ import annotations

from lamina.train.callback import Callback, CancelStep


class GradientAccumulation(Callback):
    """Accumulates the gradients of `n_steps` batches before each optimizer step.

    Each batch's loss is divided by `n_steps` before the backward pass, so with a mean-reduced
    loss and equal batches the accumulated gradient equals that of one batch `n_steps` times
    larger. The recorded loss is the batch's own, unscaled. Gradients left over at the end of a
    fit (fewer than `n_steps` batches) are dropped.

    Args:
        n_steps: batches per optimizer step (1 steps every batch).
    """

    order = 20  # before GradientClip and MixedPrecision, whose step work waits for a real step
    run_valid = False

    def __init__(self, n_steps: int = 2) -> None:
        if not isinstance(n_steps, int) or isinstance(n_steps, bool) or n_steps < 1:
            raise ValueError(f"n_steps must be a positive integer, got {n_steps!r}")
        self.n_steps = n_steps
        self.count = 0
        self._backward_cancelled = False

    def before_fit(self) -> None:
        self.count = 0
        assert self.learn.opt is not None  # fit builds the optimizer before any event
        self.learn.opt.zero_grad(set_to_none=True)

    def before_backward(self) -> None:
        self.learn.loss_grad = self.learn.loss_grad / self.n_steps

    def after_cancel_backward(self) -> None:
        self._backward_cancelled = True

    def after_backward(self) -> None:
        if self._backward_cancelled:
            self._backward_cancelled = False
            return
        self.count += 1

    def before_step(self) -> None:
        if self.count < self.n_steps:
            raise CancelStep
        self.count = 0

    def after_fit(self) -> None:
        self.count = 0
        assert self.learn.opt is not None  # fit builds the optimizer before any event
        self.learn.opt.zero_grad(set_to_none=True)
