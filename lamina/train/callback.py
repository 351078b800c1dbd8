"""The callback base class, the training events, and the exceptions that cancel a phase.

A callback subclasses `Callback` and overrides the event methods it needs; the learner calls only
the methods a callback actually overrides. `self.learn` is the learner. A callback reads the
loop's state through read-only properties (`self.xb`, `self.pred`, `self.loss`, `self.epoch`, ...,
as in fastai) and changes it through the learner (`self.learn.pred = ...`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch
    from torch import nn

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

    The learner's state is readable as properties (`self.xb`, `self.yb`, `self.pred`,
    `self.loss`, `self.loss_grad`, `self.model`, `self.dls`, `self.dl`, `self.opt`,
    `self.loss_func`, `self.metrics`, `self.training`, `self.epoch`, `self.n_epoch`,
    `self.iter`, `self.n_iter`, `self.train_iter`, `self.pct_train`). They are read-only:
    writes go through the learner (`self.learn.pred = ...`); `self.pred = ...` raises an
    AttributeError saying so. A subclass that defines one of these names itself owns it.

    Example:
        >>> class LossLog(Callback):
        ...     def __init__(self):
        ...         self.losses = []
        ...     def after_loss(self):
        ...         if self.training:
        ...             self.losses.append(float(self.loss))
    """

    order: int = 0
    run_train: bool = True
    run_valid: bool = True
    learn: Learner

    # ------------------------------------------------------------ the learner's state, read-only
    # Plain properties (not attribute delegation), so each name a callback can read is listed
    # here. Writes go through the learner: `self.learn.pred = ...`; `self.pred = ...` raises.
    @property
    def model(self) -> nn.Module:
        """The learner's model (`self.learn.model`)."""
        return self.learn.model

    @property
    def dls(self) -> Any:
        """The learner's data (`self.learn.dls`)."""
        return self.learn.dls

    @property
    def dl(self) -> Any:
        """The loader of the phase running now (`self.learn.dl`)."""
        return self.learn.dl

    @property
    def opt(self) -> torch.optim.Optimizer | None:
        """The optimizer (`self.learn.opt`; None before the first fit)."""
        return self.learn.opt

    @property
    def loss_func(self) -> Any:
        """The loss function (`self.learn.loss_func`)."""
        return self.learn.loss_func

    @property
    def metrics(self) -> list:
        """The metrics (`self.learn.metrics`)."""
        return self.learn.metrics

    @property
    def xb(self) -> tuple:
        """This batch's inputs, a tuple (`self.learn.xb`)."""
        return self.learn.xb

    @property
    def yb(self) -> tuple:
        """This batch's targets, a tuple (`self.learn.yb`)."""
        return self.learn.yb

    @property
    def pred(self) -> Any:
        """The model's output on this batch (`self.learn.pred`)."""
        return self.learn.pred

    @property
    def loss(self) -> torch.Tensor | None:
        """This batch's loss, detached (`self.learn.loss`)."""
        return self.learn.loss

    @property
    def loss_grad(self) -> torch.Tensor:
        """This batch's loss with its graph, for the backward pass (`self.learn.loss_grad`)."""
        return self.learn.loss_grad

    @property
    def training(self) -> bool:
        """Whether this is the training phase (`self.learn.training`)."""
        return self.learn.training

    @property
    def epoch(self) -> int:
        """The epoch running now, from 0 (`self.learn.epoch`)."""
        return self.learn.epoch

    @property
    def n_epoch(self) -> int:
        """Epochs in this fit (`self.learn.n_epoch`)."""
        return self.learn.n_epoch

    @property
    def iter(self) -> int:
        """This batch's number within the phase, from 0 (`self.learn.iter`)."""
        return self.learn.iter

    @property
    def n_iter(self) -> int | None:
        """Batches in this phase (`self.learn.n_iter`; None for a loader without a length)."""
        return self.learn.n_iter

    @property
    def train_iter(self) -> int:
        """Training batches done in this fit so far (`self.learn.train_iter`)."""
        return self.learn.train_iter

    @property
    def pct_train(self) -> float:
        """Fraction of this fit's training done, 0 to 1 (`self.learn.pct_train`)."""
        return self.learn.pct_train

    def __setattr__(self, name: str, value: Any) -> None:
        if name in LEARNER_STATE and _defined_by_base(type(self), name):
            raise AttributeError(
                f"{type(self).__name__}.{name} is the learner's, read-only in a callback: assign "
                f"self.learn.{name} = ... to change it, or keep the callback's own value under "
                f"another name"
            )
        super().__setattr__(name, value)

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


LEARNER_STATE = frozenset(
    ("model", "dls", "dl", "opt", "loss_func", "metrics", "xb", "yb", "pred", "loss", "loss_grad",
     "training", "epoch", "n_epoch", "iter", "n_iter", "train_iter", "pct_train")
)  # fmt: skip


def _defined_by_base(cls: type, name: str) -> bool:
    """Whether `name` on `cls` is still `Callback`'s read-only property (no subclass redefined
    it)."""
    for klass in cls.__mro__:
        if name in vars(klass):
            return klass is Callback
    return False


# What a learner accepts as callbacks: instances or classes (instantiated with no arguments),
# one or a list of them, or None.
CallbackLike = Callback | type[Callback]
Callbacks = CallbackLike | Sequence[CallbackLike] | None


def overrides(callback: Callback, event: str) -> bool:
    """Whether `callback` implements `event` itself rather than inheriting the no-op."""
    return getattr(type(callback), event) is not getattr(Callback, event)
