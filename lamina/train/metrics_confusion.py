"""Classification metrics read off the whole set's confusion matrix: balanced accuracy and MCC.

Neither is a mean of per-item values, so each metric gathers the predicted and true class of
every item, on the device, and builds the (C, C) confusion matrix once when `value` is read.
Both match scikit-learn's `balanced_accuracy_score` and `matthews_corrcoef`.
"""

from __future__ import annotations

import warnings

import torch

from lamina.core.registry import register
from lamina.train.metric_base import Metric
from lamina.train.metric_shapes import predicted_classes


def confusion_matrix(actual: torch.Tensor, predicted: torch.Tensor) -> torch.Tensor:
    """A (C, C) float64 count matrix of class indices, rows actual and columns predicted, with
    C one more than the largest class seen."""
    actual, predicted = actual.reshape(-1).long(), predicted.reshape(-1).long()
    n_classes = int(torch.maximum(actual.max(), predicted.max())) + 1
    counts = torch.bincount(actual * n_classes + predicted, minlength=n_classes**2)
    return counts.reshape(n_classes, n_classes).double()


class _LabelConfusion(Metric):
    """Gathers predicted and true class indices batch by batch; `value` reads `score(matrix)`.

    Shapes: logits (B, C), (B, T, C) or (B, C, H, W) against class indices without the class
    axis, or one logit per item (B,) / (B, 1) against 0/1 targets (binary, logit > 0).
    """

    default_name = ""

    def __init__(self) -> None:
        self.reset()

    @property
    def name(self) -> str:
        return self.default_name

    def reset(self) -> None:
        self.labels: list[torch.Tensor] = []
        self.targs: list[torch.Tensor] = []

    def update(self, pred: torch.Tensor, targ: torch.Tensor) -> None:
        labels, targ = predicted_classes(pred.detach(), targ.detach())
        self.labels.append(labels.reshape(-1).long())
        self.targs.append(targ.reshape(-1))  # checked once in `value`, not synced per batch

    def score(self, matrix: torch.Tensor) -> float:
        """The metric from the (C, C) confusion matrix (rows actual, columns predicted)."""
        raise NotImplementedError

    @property
    def value(self) -> float:
        if not self.labels:
            return float("nan")
        labels, targs = torch.cat(self.labels).cpu(), torch.cat(self.targs).cpu()
        if targs.is_floating_point() and not bool((targs == targs.round()).all()):
            raise ValueError(
                f"{self.name} needs class indices as targets, got non-integer values of dtype "
                f"{targs.dtype}; for regression use rmse or r2_score"
            )
        if bool((targs < 0).any()):
            raise ValueError(f"{self.name} got negative targets; class indices start at 0")
        return self.score(confusion_matrix(targs.long(), labels))


@register("metric", "balanced_accuracy")
class BalancedAccuracy(_LabelConfusion):
    """The mean over classes of each class's recall, for classes present in the targets.

    Classes only ever predicted, never true, are left out (as scikit-learn does, with a
    warning). With `adjusted=True`, chance scores 0 and a perfect classifier 1.
    """

    default_name = "balanced_accuracy"

    def __init__(self, adjusted: bool = False) -> None:
        self.adjusted = bool(adjusted)
        super().__init__()

    def score(self, matrix: torch.Tensor) -> float:
        support = matrix.sum(1)
        present = support > 0
        recall = matrix.diagonal()[present] / support[present]
        value = float(recall.mean())
        if self.adjusted:
            n_classes = int(present.sum())
            if n_classes < 2:
                warnings.warn(
                    f"adjusted {self.name} is undefined with one class in the targets; it is nan",
                    RuntimeWarning,
                    stacklevel=3,
                )
                return float("nan")
            value = (value - 1 / n_classes) / (1 - 1 / n_classes)
        return value


@register("metric", "matthews_corrcoef")
class MatthewsCorrCoef(_LabelConfusion):
    """Matthews correlation coefficient, binary or multi-class: +1 perfect, 0 no better than
    chance, -1 always wrong. It is 0 when all items are predicted (or are) one class, as in
    scikit-learn."""

    default_name = "matthews_corrcoef"

    def score(self, matrix: torch.Tensor) -> float:
        total, correct = matrix.sum(), matrix.trace()
        n_pred, n_true = matrix.sum(0), matrix.sum(1)
        covariance = correct * total - (n_true * n_pred).sum()
        pred_spread = total**2 - (n_pred * n_pred).sum()
        true_spread = total**2 - (n_true * n_true).sum()
        if pred_spread * true_spread == 0:
            return 0.0
        return float(covariance / torch.sqrt(pred_spread * true_spread))


balanced_accuracy = BalancedAccuracy()
matthews_corrcoef = MatthewsCorrCoef()

__all__ = [
    "BalancedAccuracy", "MatthewsCorrCoef", "balanced_accuracy", "confusion_matrix",
    "matthews_corrcoef",
]  # fmt: skip
