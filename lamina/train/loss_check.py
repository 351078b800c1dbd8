"""Calling the loss with errors that name the culprit, and choosing a loss from the data."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from lamina.data.loaders import Loaders


def _describe(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"tensor of shape {tuple(value.shape)} and dtype {value.dtype}"
    if isinstance(value, (tuple, list)):
        return f"{type(value).__name__} of [{', '.join(_describe(item) for item in value)}]"
    return type(value).__name__


def loss_name(loss_func: Callable) -> str:
    """A readable name for a loss function or module."""
    return getattr(loss_func, "__name__", type(loss_func).__name__)


def call_loss(
    loss_func: Callable, pred: Any, targets: tuple, check: bool = False, where: str = ""
) -> torch.Tensor:
    """`loss_func(pred, *targets)`, re-raising a failure with the shapes and dtypes involved.

    With `check`, warnings about silently broadcast shapes (as torch's MSE gives) become errors
    too; the loop asks for this whenever the shapes change (`LossShapeWatch`). `where` names the
    batch in the message (e.g. "training batch 3").
    """
    try:
        if check:
            with warnings.catch_warnings():
                warnings.filterwarnings("error", message=".*size.*", category=UserWarning)
                loss = loss_func(pred, *targets)
        else:
            loss = loss_func(pred, *targets)
    except (RuntimeError, ValueError, IndexError, TypeError, UserWarning) as error:
        target = targets[0] if len(targets) == 1 else targets
        at = f" at {where}" if where else ""
        raise ValueError(
            f"the loss {loss_name(loss_func)} cannot pair the model output ({_describe(pred)}) "
            f"with the target ({_describe(target)}){at}: {error}"
        ) from error
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        raise ValueError(
            f"the loss {loss_name(loss_func)} must return a single-element tensor, got "
            f"{_describe(loss)}"
        )
    return loss


def _shape(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.shape
    if isinstance(value, (tuple, list)):
        return tuple(_shape(item) for item in value)
    return None


def _ranks(shapes: Any) -> Any:
    if isinstance(shapes, torch.Size):
        return len(shapes)
    if isinstance(shapes, tuple):
        return tuple(_ranks(item) for item in shapes)
    return None


class LossShapeWatch:
    """Calls the loss for every batch, checking strictly whenever the shapes change.

    Comparing shape tuples costs no device sync, so each batch is watched: a batch whose
    output or target shapes differ from the last checked batch's is checked with broadcast
    warnings as errors, and one whose output or target has a different number of dimensions
    than the loader's first batch's is refused, naming the batch, both shapes and the likely cause.
    """

    def __init__(self) -> None:
        self.first: Any = None
        self.last: Any = None

    def __call__(
        self, loss_func: Callable, pred: Any, targets: tuple, training: bool, batch: int
    ) -> torch.Tensor:
        shapes = (_shape(pred), _shape(targets))
        if shapes == self.last:
            return call_loss(loss_func, pred, targets)
        where = f"{'training' if training else 'validation'} batch {batch}"
        if self.first is None or batch == 0:  # each pass over a loader sets the reference
            self.first = shapes
        elif _ranks(shapes) != _ranks(self.first):
            raise ValueError(
                f"{where}: the model output and target shapes {_shown(shapes)} do not have the "
                f"dimensions of the first batch's {_shown(self.first)}; likely some items' "
                "labels (or the model's output) take another form, e.g. a list or a 1-element "
                "array where others hold a number; give every item a target of one shape"
            )
        loss = call_loss(loss_func, pred, targets, check=True, where=where)
        self.last = shapes
        return loss


def _shown(shapes: Any) -> str:
    pred, targets = shapes
    target = targets[0] if len(targets) == 1 else targets
    return f"(output {_plain(pred)}, target {_plain(target)})"


def _plain(shape: Any) -> Any:
    if isinstance(shape, torch.Size):
        return tuple(shape)
    if isinstance(shape, tuple):
        return tuple(_plain(item) for item in shape)
    return shape


def default_loss_for(dls: Loaders) -> Callable:
    """The loss the data asks for, else one inferred from a target's dtype.

    Loaders name their target's loss (`dls.loss_name`, a registered loss, with
    `dls.loss_kwargs`), since the data layer sits below the losses.
    """
    if dls.loss_name is not None:
        import lamina.train.losses  # noqa: F401  (registers the losses)
        from lamina.core.registry import lookup

        return lookup("loss", dls.loss_name)(**dls.loss_kwargs)
    batch = dls.one_batch()
    n_inp = dls.n_inp
    target = batch[n_inp] if isinstance(batch, (tuple, list)) and len(batch) > n_inp else None
    if not isinstance(target, torch.Tensor):
        raise ValueError("cannot infer a loss from batches without a tensor target: pass loss_func")
    if not target.is_floating_point():
        return nn.CrossEntropyLoss()
    return nn.MSELoss()


def activation_for(loss_func: Callable) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """The activation that turns model outputs into probabilities for this loss, if any."""
    explicit = getattr(loss_func, "activation", None)
    if explicit is not None:
        return explicit
    if isinstance(loss_func, nn.CrossEntropyLoss):
        return lambda pred: torch.softmax(pred, dim=-1)
    if isinstance(loss_func, nn.BCEWithLogitsLoss):
        return torch.sigmoid
    return None


def decodes_for(loss_func: Callable) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """What turns raw model outputs into predictions for this loss, if anything does: the loss's
    own `decodes` (lamina's losses: argmax, threshold or identity), else the class index for
    torch's cross-entropy (along axis 1, its class axis) and 0/1 labels (sigmoid above 0.5) for
    torch's binary cross-entropy on logits; None for other losses (outputs are the values)."""
    explicit = getattr(loss_func, "decodes", None)
    if callable(explicit):
        return explicit
    if isinstance(loss_func, nn.CrossEntropyLoss):
        return lambda pred: pred.argmax(dim=1)
    if isinstance(loss_func, nn.BCEWithLogitsLoss):
        return lambda pred: torch.sigmoid(pred) > 0.5
    return None
