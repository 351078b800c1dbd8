"""The callback base class, the training events, and the exceptions that cancel a phase.

A callback subclasses `Callback` and overrides the event methods it needs; the learner calls only
the methods a callback actually overrides. `self.learn` is the learner, so a callback reads and
changes its state (`xb`, `yb`, `pred`, `loss`, `model`, `opt`, `epoch`, `iter`, `training`, ...).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lamina.train.learner import Learner

EVENTS = (
    "before_fit", "before_epoch", "before_train", "before_batch", "after_pred", "after_loss",
    "before_backward", "after_backward", "before_step", "after_step", "after_batch",
    "after_train", "before_validate", "after_validate", "after_epoch", "after_fit",
    "after_cancel_fit", "after_cancel_epoch", "after_cancel_train", "after_cancel_validate",
    "after_cancel_batch", "after_cancel_backward", "after_cancel_step", "after_interrupt",
)  # fmt: skip


class CancelFit(Exception):
    """Stop training now; `after_cancel_fit` then `after_fit` run."""


class CancelEpoch(Exception):
    """Skip the rest of this epoch (training and validation)."""


class CancelTrain(Exception):
    """Skip the rest of this epoch's training phase."""


class CancelValidate(Exception):
    """Skip the rest of this epoch's validation phase."""


class CancelBatch(Exception):
    """Skip the rest of this batch."""


class CancelBackward(Exception):
    """Skip this batch's backward pass."""


class CancelStep(Exception):
    """Skip this batch's optimizer step and the zeroing of gradients."""


class CallbackError(RuntimeError):
    """An exception raised inside a callback, re-raised naming the callback and the event."""


class Callback:
    """Base class for callbacks: every event is a no-op method to override.

    `order` sets when a callback runs relative to others (lower first). `run_valid` and
    `run_train` restrict batch-level events to one phase.
    """

    order: int = 0
    run_train: bool = True
    run_valid: bool = True
    learn: Learner

    @property
    def name(self) -> str:
        """A snake_case name, under which the learner also exposes it (e.g. `learn.recorder`)."""
        import re

        base = type(self).__name__
        # "EarlyStopping" -> "early_stopping", "CSVLogger" -> "csv_logger"
        snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", base).lower()
        return snake.removesuffix("_callback")

    def state_dict(self) -> dict[str, Any]:
        """JSON-able state saved with checkpoints (override if the callback has any)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what `state_dict` returned."""

    def before_fit(self) -> None: ...
    def before_epoch(self) -> None: ...
    def before_train(self) -> None: ...
    def before_batch(self) -> None: ...
    def after_pred(self) -> None: ...
    def after_loss(self) -> None: ...
    def before_backward(self) -> None: ...
    def after_backward(self) -> None: ...
    def before_step(self) -> None: ...
    def after_step(self) -> None: ...
    def after_batch(self) -> None: ...
    def after_train(self) -> None: ...
    def before_validate(self) -> None: ...
    def after_validate(self) -> None: ...
    def after_epoch(self) -> None: ...
    def after_fit(self) -> None: ...
    def after_cancel_fit(self) -> None: ...
    def after_cancel_epoch(self) -> None: ...
    def after_cancel_train(self) -> None: ...
    def after_cancel_validate(self) -> None: ...
    def after_cancel_batch(self) -> None: ...
    def after_cancel_backward(self) -> None: ...
    def after_cancel_step(self) -> None: ...
    def after_interrupt(self) -> None:
        """The fit (or `validate`) stopped on an error or Ctrl-C rather than a cancel: drop any
        half-done state (the exception then propagates)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


# What a learner accepts as callbacks: instances or classes (instantiated with no arguments),
# one or a list of them, or None.
CallbackLike = Callback | type[Callback]
Callbacks = CallbackLike | Sequence[CallbackLike] | None


def overrides(callback: Callback, event: str) -> bool:
    """Whether `callback` implements `event` itself rather than inheriting the no-op."""
    return getattr(type(callback), event) is not getattr(Callback, event)
