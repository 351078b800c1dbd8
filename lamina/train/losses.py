"""Losses that pair model outputs with targets of the shapes a user would expect.

Each loss is an `nn.Module` with:
- `reduction` ("mean", "sum" or "none"; `Learner.get_preds` sets "none" for per-item losses),
- `activation(pred)`: outputs to probabilities or values (softmax, sigmoid or identity),
- `decodes(pred)`: outputs to predictions (argmax, threshold or identity),
- `config()`: its constructor arguments as JSON, so an exported model rebuilds it by its
  registered name (kind "loss").

"Flat" losses flatten predictions and targets so that, for example, (B, C) logits pair with (B,)
labels, (B, C, H, W) segmentation logits with (B, H, W) masks (`axis=1`), and (B, 1) regression
outputs with (B,) targets. Shapes that do not pair up still raise a `ValueError`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from lamina.core.registry import register

REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction: str) -> str:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    return reduction


def _check_axis(axis: int) -> int:
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise ValueError(f"axis must be an integer (the class axis), got {axis!r}")
    return axis


def _as_float_list(name: str, values: Sequence[float] | torch.Tensor | None) -> list | None:
    """A JSON-able list of non-negative weights, or None."""
    if values is None:
        return None
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().flatten().tolist()
    try:
        floats = [float(value) for value in values]
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a sequence of numbers, got {values!r}") from None
    if not floats or any(not math.isfinite(value) or value < 0 for value in floats):
        raise ValueError(
            f"{name} must be a non-empty sequence of finite numbers >= 0, got {floats}"
        )
    return floats


def _same_dims(shape_a: torch.Size, shape_b: torch.Size) -> bool:
    """Whether two shapes differ only by dimensions of size 1, e.g. (B, 1) and (B,)."""
    return [dim for dim in shape_a if dim != 1] == [dim for dim in shape_b if dim != 1]


def pair_shapes(pred: torch.Tensor, targ: torch.Tensor, loss: str) -> torch.Tensor:
    """`targ` viewed with `pred`'s shape when they differ only by size-1 dimensions, else raise."""
    if targ.shape == pred.shape:
        return targ
    if targ.numel() == pred.numel() and _same_dims(targ.shape, pred.shape):
        return targ.reshape(pred.shape)
    raise ValueError(
        f"{loss}: the target's shape {tuple(targ.shape)} does not match the prediction's shape "
        f"{tuple(pred.shape)}"
    )


class FlatLoss(nn.Module):
    """Base of lamina's losses: a reduction, `activation`, `decodes` and `config`."""

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = _check_reduction(reduction)

    def activation(self, pred: torch.Tensor) -> torch.Tensor:
        """Model outputs to probabilities (or values) for this loss."""
        return pred

    def decodes(self, pred: torch.Tensor) -> torch.Tensor:
        """Model outputs to predictions (class indices, 0/1 labels or values)."""
        return pred

    def config(self) -> dict[str, Any]:
        """The constructor arguments, as JSON-able values."""
        return {"reduction": self.reduction}

    def extra_repr(self) -> str:
        return ", ".join(f"{key}={value!r}" for key, value in self.config().items())

    def _reduce(self, losses: torch.Tensor) -> torch.Tensor:
        if self.reduction == "mean":
            return losses.mean()
        if self.reduction == "sum":
            return losses.sum()
        return losses


class _ClassAxisLoss(FlatLoss):
    """Shared flattening for losses over a class axis of logits."""

    def __init__(self, axis: int = -1, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.axis = _check_axis(axis)

    def activation(self, pred: torch.Tensor) -> torch.Tensor:
        """Softmax over the class axis."""
        return torch.softmax(pred, dim=self.axis)

    def decodes(self, pred: torch.Tensor) -> torch.Tensor:
        """The index of the largest logit along the class axis."""
        return pred.argmax(dim=self.axis)

    def _flatten(
        self, pred: torch.Tensor, targ: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Size]:
        """(N, C) logits, (N,) labels or (N, C) soft targets, and the shape of per-item losses."""
        if not -pred.ndim <= self.axis < pred.ndim:
            raise ValueError(
                f"{type(self).__name__}: axis {self.axis} is out of range for a prediction of "
                f"shape {tuple(pred.shape)}"
            )
        shape = pred.shape
        soft = targ.is_floating_point() and targ.shape == shape  # class probabilities
        pred = pred.movedim(self.axis, -1)  # (..., C)
        item_shape = pred.shape[:-1]
        if soft:
            targ = targ.movedim(self.axis, -1)
            return pred.reshape(-1, pred.shape[-1]), targ.reshape(-1, pred.shape[-1]), item_shape
        pairs = targ.numel() == item_shape.numel() and _same_dims(targ.shape, item_shape)
        if targ.shape != item_shape and not pairs:
            raise ValueError(
                f"{type(self).__name__}: the target's shape {tuple(targ.shape)} does not "
                f"match the prediction's shape {tuple(shape)} without its class axis "
                f"{self.axis}, {tuple(item_shape)}; for (B, C, H, W) outputs use axis=1"
            )
        return pred.reshape(-1, pred.shape[-1]), targ.reshape(-1).long(), item_shape


@register("loss", "cross_entropy_flat")
class CrossEntropyFlat(_ClassAxisLoss):
    """Cross-entropy over class axis `axis` of any-shaped logits.

    Shapes: logits (B, ..., C) with `axis=-1` (or (B, C, ...) with `axis=1`); targets are the
    logits' shape without the class axis (integer labels), or the logits' shape (probabilities).

    Args:
        axis: the class axis of the logits.
        label_smoothing: in [0, 1); mixes the one-hot target with a uniform distribution.
        weight: one non-negative weight per class, or None.
        ignore_index: targets with this label add nothing to the loss.

    Example:
        >>> loss = CrossEntropyFlat(axis=1)  # segmentation: (B, C, H, W) vs (B, H, W)
    """

    def __init__(
        self,
        axis: int = -1,
        label_smoothing: float = 0.0,
        weight: Sequence[float] | torch.Tensor | None = None,
        ignore_index: int = -100,
        reduction: str = "mean",
    ) -> None:
        super().__init__(axis, reduction)
        if not (isinstance(label_smoothing, (int, float)) and 0 <= label_smoothing < 1):
            raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing!r}")
        self.label_smoothing = float(label_smoothing)
        self.weight = _as_float_list("weight", weight)
        self.ignore_index = int(ignore_index)

    def forward(self, pred: torch.Tensor, targ: torch.Tensor) -> torch.Tensor:
        flat_pred, flat_targ, item_shape = self._flatten(pred, targ)
        weight = None if self.weight is None else flat_pred.new_tensor(self.weight)
        losses = F.cross_entropy(
            flat_pred, flat_targ, weight=weight, ignore_index=self.ignore_index,
            label_smoothing=self.label_smoothing, reduction=self.reduction,
        )  # fmt: skip
        return losses.reshape(item_shape) if self.reduction == "none" else losses

    def config(self) -> dict[str, Any]:
        return {"axis": self.axis, "label_smoothing": self.label_smoothing, "weight": self.weight,
                "ignore_index": self.ignore_index, "reduction": self.reduction}  # fmt: skip


@register("loss", "label_smoothing_cross_entropy")
class LabelSmoothingCrossEntropy(CrossEntropyFlat):
    """Cross-entropy against targets smoothed by `eps`: `(1 - eps) * nll + eps * mean(-log p)`.

    Shapes as for `CrossEntropyFlat`.
    """

    def __init__(
        self,
        eps: float = 0.1,
        axis: int = -1,
        weight: Sequence[float] | torch.Tensor | None = None,
        ignore_index: int = -100,
        reduction: str = "mean",
    ) -> None:
        if not (isinstance(eps, (int, float)) and 0 <= eps < 1):
            raise ValueError(f"eps must be in [0, 1), got {eps!r}")
        super().__init__(axis, float(eps), weight, ignore_index, reduction)

    @property
    def eps(self) -> float:
        """The smoothing amount."""
        return self.label_smoothing

    def config(self) -> dict[str, Any]:
        return {"eps": self.eps, "axis": self.axis, "weight": self.weight,
                "ignore_index": self.ignore_index, "reduction": self.reduction}  # fmt: skip


@register("loss", "focal")
class FocalLoss(_ClassAxisLoss):
    """Focal loss for single-label classification: `-(1 - p_t) ** gamma * log p_t`.

    It down-weights well-classified items so training focuses on hard ones; `gamma=0` is
    cross-entropy. With `weight`, the mean is taken over the items' class weights, as in
    `torch.nn.functional.cross_entropy`. Shapes as for `CrossEntropyFlat` (integer labels).
    """

    def __init__(
        self,
        gamma: float = 2.0,
        weight: Sequence[float] | torch.Tensor | None = None,
        axis: int = -1,
        ignore_index: int = -100,
        reduction: str = "mean",
    ) -> None:
        super().__init__(axis, reduction)
        if not (isinstance(gamma, (int, float)) and math.isfinite(gamma) and gamma >= 0):
            raise ValueError(f"gamma must be a finite number >= 0, got {gamma!r}")
        self.gamma = float(gamma)
        self.weight = _as_float_list("weight", weight)
        self.ignore_index = int(ignore_index)

    def forward(self, pred: torch.Tensor, targ: torch.Tensor) -> torch.Tensor:
        flat_pred, flat_targ, item_shape = self._flatten(pred, targ)
        if flat_targ.is_floating_point():
            raise ValueError("FocalLoss needs integer class labels, not soft targets")
        nll = F.cross_entropy(
            flat_pred, flat_targ, ignore_index=self.ignore_index, reduction="none"
        )  # fmt: skip  (N,), 0 where ignored
        losses = (1 - torch.exp(-nll)).pow(self.gamma) * nll
        keep = flat_targ != self.ignore_index
        if self.weight is None:
            item_weight = keep.to(losses.dtype)
        else:
            class_weight = flat_pred.new_tensor(self.weight)
            item_weight = class_weight[torch.where(keep, flat_targ, 0)] * keep
        losses = losses * item_weight
        if self.reduction == "mean":
            return losses.sum() / item_weight.sum()
        return self._reduce(losses.reshape(item_shape))

    def config(self) -> dict[str, Any]:
        return {"gamma": self.gamma, "weight": self.weight, "axis": self.axis,
                "ignore_index": self.ignore_index, "reduction": self.reduction}  # fmt: skip


@register("loss", "bce_with_logits_flat")
class BCEWithLogitsFlat(FlatLoss):
    """Binary cross-entropy on logits, for multi-label (or single-logit binary) targets.

    Shapes: logits (B, C) and 0/1 (or probability) targets (B, C), any dtype; (B, 1) pairs
    with (B,). `pos_weight` holds one weight per class along `axis`.

    Args:
        thresh: probability above which `decodes` predicts a label.
        pos_weight: weight of positive examples, per class.
        axis: the class axis, along which `pos_weight` applies.
    """

    def __init__(
        self,
        thresh: float = 0.5,
        pos_weight: Sequence[float] | torch.Tensor | None = None,
        axis: int = -1,
        reduction: str = "mean",
    ) -> None:
        super().__init__(reduction)
        if not (isinstance(thresh, (int, float)) and 0 < thresh < 1):
            raise ValueError(f"thresh must be in (0, 1), got {thresh!r}")
        self.thresh = float(thresh)
        self.pos_weight = _as_float_list("pos_weight", pos_weight)
        self.axis = _check_axis(axis)

    def forward(self, pred: torch.Tensor, targ: torch.Tensor) -> torch.Tensor:
        targ = pair_shapes(pred, targ, type(self).__name__).to(pred.dtype)
        pos_weight = None
        if self.pos_weight is not None:
            shape = [1] * pred.ndim
            shape[self.axis] = len(self.pos_weight)  # broadcast along the class axis
            pos_weight = pred.new_tensor(self.pos_weight).reshape(shape)
        return F.binary_cross_entropy_with_logits(
            pred, targ, pos_weight=pos_weight, reduction=self.reduction
        )

    def activation(self, pred: torch.Tensor) -> torch.Tensor:
        """Sigmoid of each logit."""
        return torch.sigmoid(pred)

    def decodes(self, pred: torch.Tensor) -> torch.Tensor:
        """1 where the sigmoid is above `thresh`, else 0 (as booleans)."""
        return torch.sigmoid(pred) > self.thresh

    def config(self) -> dict[str, Any]:
        return {"thresh": self.thresh, "pos_weight": self.pos_weight, "axis": self.axis,
                "reduction": self.reduction}  # fmt: skip


@register("loss", "mse_flat")
class MSELossFlat(FlatLoss):
    """Mean squared error; (B, 1) outputs pair with (B,) targets, and integer targets are cast."""

    def forward(self, pred: torch.Tensor, targ: torch.Tensor) -> torch.Tensor:
        targ = pair_shapes(pred, targ, type(self).__name__).to(pred.dtype)
        return F.mse_loss(pred, targ, reduction=self.reduction)


@register("loss", "l1_flat")
class L1LossFlat(FlatLoss):
    """Mean absolute error; (B, 1) outputs pair with (B,) targets, and integer targets are cast."""

    def forward(self, pred: torch.Tensor, targ: torch.Tensor) -> torch.Tensor:
        targ = pair_shapes(pred, targ, type(self).__name__).to(pred.dtype)
        return F.l1_loss(pred, targ, reduction=self.reduction)
