"""`GradientAccumulation`: one optimizer step per several batches, as if they were one batch."""

from __future__ import annotations

from lamina.train.callback import Callback, CancelStep


class GradientAccumulation(Callback):
    """Accumulates gradients over several batches before each optimizer step.

    Give exactly one, by keyword: `n_steps`, the batches per step, or `n_acc`, the samples per
    step (fastai's meaning: a step once at least `n_acc` samples have been seen). Each batch's
    loss is scaled before the backward pass (by `1 / n_steps`, or by `batch size / n_acc`), so
    with a mean-reduced loss the accumulated gradient is that of one large batch. The recorded
    loss is the batch's own, unscaled. Gradients left over at the end of a fit are dropped.

    The count is keyword-only because fastai's positional `GradientAccumulation(64)` counts
    samples: a ported line then fails with a message rather than accumulating 64 batches.

    Args:
        n_steps: batches per optimizer step (1 steps every batch).
        n_acc: samples per optimizer step.
    """

    order = 20  # before GradientClip and MixedPrecision, whose step work waits for a real step
    run_valid = False

    def __init__(self, *args: object, n_steps: int | None = None, n_acc: int | None = None) -> None:
        if args:
            raise TypeError(
                f"GradientAccumulation({', '.join(map(repr, args))}): give the count by keyword, "
                "n_steps= (batches per optimizer step) or n_acc= (samples per step, what "
                "fastai's positional argument means)"
            )
        if (n_steps is None) == (n_acc is None):
            raise TypeError("GradientAccumulation takes exactly one of n_steps= or n_acc=")
        name, count = ("n_steps", n_steps) if n_steps is not None else ("n_acc", n_acc)
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise ValueError(f"{name} must be a positive integer, got {count!r}")
        self.n_steps, self.n_acc = n_steps, n_acc
        self.count = 0
        self._backward_cancelled = False

    def before_fit(self) -> None:
        self.count = 0
        assert self.learn.opt is not None  # fit builds the optimizer before any event
        self.learn.opt.zero_grad(set_to_none=True)

    def _batch_size(self) -> int:
        target = self.learn.yb[0] if self.learn.yb else self.learn.xb[0]
        return len(target) if hasattr(target, "__len__") else 1

    def before_backward(self) -> None:
        if self.n_acc is None:
            self._added, scale = 1, 1 / self.n_steps  # type: ignore[operator]
        else:
            self._added = self._batch_size()
            scale = self._added / self.n_acc
        self.learn.loss_grad = self.learn.loss_grad * scale

    def after_cancel_backward(self) -> None:
        self._backward_cancelled = True

    def after_backward(self) -> None:
        if self._backward_cancelled:
            self._backward_cancelled = False
            return
        self.count += self._added

    def before_step(self) -> None:
        if self.count < (self.n_steps or self.n_acc):  # type: ignore[operator]
            raise CancelStep
        self.count = 0

    def after_fit(self) -> None:
        self.count = 0
        assert self.learn.opt is not None  # fit builds the optimizer before any event
        self.learn.opt.zero_grad(set_to_none=True)
