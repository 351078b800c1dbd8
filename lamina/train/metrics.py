"""The usual metrics, each exact over the whole validation set.

Per-sample means (accuracy, MSE, ...) are plain functions `metric(pred, targ)`, which `Learner`
wraps in `AvgMetric`. Metrics that are not means of per-sample values (F1, AUC, RMSE, R2,
perplexity) are `Metric` classes that gather what they need batch by batch, on the device, and
compute once at the end. Each is registered under kind "metric" by its lowercase name, so
`Learner(metrics=[accuracy, F1Score(average="macro"), rmse, "r2_score"])` all work.

Metrics that need more than this file are in their own modules and imported here, so
`lamina.train.metrics` holds every metric: ranking (ROC AUC, average precision) in
`metrics_ranking`, confusion-matrix scores (balanced accuracy, MCC) in `metrics_confusion`, and
segmentation (Dice, Jaccard, foreground accuracy) in `metrics_segmentation`.

Shapes: classification metrics take logits with a class axis (B, C), (B, T, C) or (B, C, H, W)
against integer targets without it; a single logit per item (B,) or (B, 1) is binary (logit > 0).
"""

from __future__ import annotations

import math
from functools import partial

import torch
import torch.nn.functional as F

from lamina.core.registry import register
from lamina.train.losses import pair_shapes
from lamina.train.metric_base import AvgMetric, Metric
from lamina.train.metric_shapes import (
    class_scores_last,
    predicted_classes,
    safe_div,
)
from lamina.train.metrics_confusion import (
    BalancedAccuracy,
    MatthewsCorrCoef,
    _LabelConfusion,
    balanced_accuracy,
    matthews_corrcoef,
)
from lamina.train.metrics_ranking import (
    APScoreBinary,
    APScoreMulti,
    RocAuc,
    RocAucBinary,
    RocAucMulti,
    binary_auc,
    binary_average_precision,
)
from lamina.train.metrics_segmentation import (
    Dice,
    DiceMulti,
    ForegroundAccuracy,
    JaccardCoeff,
    JaccardCoeffMulti,
    foreground_acc,
)

AVERAGES = ("binary", "macro", "micro", "weighted")


# ----------------------------------------------------------------------------- per-sample means
@register("metric", "accuracy")
def accuracy(pred: torch.Tensor, targ: torch.Tensor) -> torch.Tensor:
    """The fraction of items whose highest-scoring class is the target.

    Shapes: (B, C) vs (B,), (B, T, C) vs (B, T), or (B, C, H, W) vs (B, H, W) (pixel accuracy).
    """
    labels, targ = predicted_classes(pred, targ)
    return (labels == targ).float().mean()


@register("metric", "error_rate")
def error_rate(pred: torch.Tensor, targ: torch.Tensor) -> torch.Tensor:
    """`1 - accuracy`."""
    return 1 - accuracy(pred, targ)


@register("metric", "top_k_accuracy")
def top_k_accuracy(pred: torch.Tensor, targ: torch.Tensor, k: int = 5) -> torch.Tensor:
    """The fraction of items whose target is among the `k` highest-scoring classes."""
    scores, targ = class_scores_last(pred, targ)
    top = scores.topk(min(k, scores.shape[-1]), dim=-1).indices  # (..., k)
    return (top == targ.unsqueeze(-1)).any(dim=-1).float().mean()


@register("metric", "accuracy_multi")
def accuracy_multi(
    pred: torch.Tensor, targ: torch.Tensor, thresh: float = 0.5, sigmoid: bool = True
) -> torch.Tensor:
    """Multi-label accuracy: the fraction of (item, label) pairs predicted right.

    Shapes: logits (B, C) and 0/1 targets (B, C). A label is predicted when its probability
    (sigmoid of the logit, or `pred` itself when `sigmoid=False`) is above `thresh`.
    """
    targ = pair_shapes(pred, targ, "accuracy_multi")
    probs = torch.sigmoid(pred) if sigmoid else pred
    return ((probs > thresh) == targ.bool()).float().mean()


@register("metric", "mse")
def mse(pred: torch.Tensor, targ: torch.Tensor) -> torch.Tensor:
    """Mean squared error; (B, 1) predictions pair with (B,) targets."""
    targ = pair_shapes(pred, targ, "mse")
    return (pred.float() - targ.float()).square().mean()


@register("metric", "mae")
def mae(pred: torch.Tensor, targ: torch.Tensor) -> torch.Tensor:
    """Mean absolute error; (B, 1) predictions pair with (B,) targets."""
    targ = pair_shapes(pred, targ, "mae")
    return (pred.float() - targ.float()).abs().mean()


class TopKAccuracy(AvgMetric):
    """`top_k_accuracy` with a chosen `k`, shown as `top_<k>_accuracy`."""

    def __init__(self, k: int = 5) -> None:
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        self.k = k
        super().__init__(partial(top_k_accuracy, k=k), name=f"top_{k}_accuracy")


class AccuracyMulti(AvgMetric):
    """`accuracy_multi` with a chosen threshold, and whether to apply a sigmoid first."""

    def __init__(self, thresh: float = 0.5, sigmoid: bool = True) -> None:
        if not (isinstance(thresh, (int, float)) and 0 <= thresh <= 1):
            raise ValueError(f"thresh must be in [0, 1], got {thresh!r}")
        self.thresh, self.sigmoid = float(thresh), bool(sigmoid)
        func = partial(accuracy_multi, thresh=self.thresh, sigmoid=self.sigmoid)
        super().__init__(func, name="accuracy_multi")


# ----------------------------------------------------------------------- precision, recall, F1
class _ConfusionScore(_LabelConfusion):
    """Gathers predicted and true labels; scores them from the confusion matrix at the end."""

    def __init__(self, average: str = "binary", pos_label: int = 1, name: str | None = None):
        if average not in AVERAGES:
            raise ValueError(f"average must be one of {AVERAGES}, got {average!r}")
        if isinstance(pos_label, bool) or not isinstance(pos_label, int) or pos_label < 0:
            raise ValueError(f"pos_label must be a class index >= 0, got {pos_label!r}")
        self.average, self.pos_label = average, pos_label
        self._name = name or self.default_name
        super().__init__()

    @property
    def name(self) -> str:
        return self._name

    def per_class(
        self, true_pos: torch.Tensor, n_pred: torch.Tensor, n_true: torch.Tensor
    ) -> torch.Tensor:
        """The score of each class from its counts."""
        raise NotImplementedError

    def score(self, matrix: torch.Tensor) -> float:
        n_classes = len(matrix)
        true_pos, n_pred, n_true = matrix.diagonal(), matrix.sum(0), matrix.sum(1)
        if self.average == "micro":
            return float(self.per_class(true_pos.sum(), n_pred.sum(), n_true.sum()))
        scores = self.per_class(true_pos, n_pred, n_true)
        if self.average == "binary":
            present = int(((n_pred + n_true) > 0).sum())
            if present > 2:
                raise ValueError(
                    f"{self.name} with average='binary' got {present} classes; pass "
                    "average='macro', 'micro' or 'weighted' for more than two"
                )
            return float(scores[self.pos_label]) if self.pos_label < n_classes else 0.0
        if self.average == "weighted":
            return float(safe_div((scores * n_true).sum(), n_true.sum()))
        return float(scores[(n_pred + n_true) > 0].mean())  # macro, over classes seen


@register("metric", "precision")
class Precision(_ConfusionScore):
    """Precision: of the items predicted as a class, the fraction that belong to it.

    Args:
        average: "binary" (class `pos_label` only), "macro" (mean over classes), "micro"
            (from summed counts) or "weighted" (mean weighted by each class's support).
        pos_label: the positive class for `average="binary"`.
    """

    default_name = "precision"

    def per_class(
        self, true_pos: torch.Tensor, n_pred: torch.Tensor, n_true: torch.Tensor
    ) -> torch.Tensor:
        return safe_div(true_pos, n_pred)


@register("metric", "recall")
class Recall(_ConfusionScore):
    """Recall: of the items of a class, the fraction predicted as it. Args as `Precision`."""

    default_name = "recall"

    def per_class(
        self, true_pos: torch.Tensor, n_pred: torch.Tensor, n_true: torch.Tensor
    ) -> torch.Tensor:
        return safe_div(true_pos, n_true)


@register("metric", "f1_score")
class F1Score(_ConfusionScore):
    """F1: the harmonic mean of precision and recall. Args as `Precision`."""

    default_name = "f1_score"

    def per_class(
        self, true_pos: torch.Tensor, n_pred: torch.Tensor, n_true: torch.Tensor
    ) -> torch.Tensor:
        return safe_div(2 * true_pos, n_pred + n_true)


# ----------------------------------------------------------------------------- regression, LM
@register("metric", "rmse")
class RMSE(Metric):
    """Root mean squared error over the whole set (not a mean of per-batch RMSEs)."""

    def __init__(self) -> None:
        self.reset()

    @property
    def name(self) -> str:
        return "rmse"

    def reset(self) -> None:
        self.sums: list[torch.Tensor] = []
        self.count = 0

    def update(self, pred: torch.Tensor, targ: torch.Tensor) -> None:
        targ = pair_shapes(pred, targ.detach(), "rmse")
        self.sums.append((pred.detach().float() - targ.float()).square().sum())
        self.count += targ.numel()

    @property
    def value(self) -> float:
        if not self.count:
            return float("nan")
        return math.sqrt(float(torch.stack(self.sums).double().sum()) / self.count)


@register("metric", "r2_score")
class R2Score(Metric):
    """Coefficient of determination over the whole set, averaged over outputs.

    Shapes: (B,) or (B, n_outputs); (B, 1) predictions pair with (B,) targets. A constant
    target scores 1 if predicted exactly, else 0 (as scikit-learn's `r2_score`).
    """

    def __init__(self) -> None:
        self.reset()

    @property
    def name(self) -> str:
        return "r2_score"

    def reset(self) -> None:
        self.preds: list[torch.Tensor] = []
        self.targs: list[torch.Tensor] = []

    def update(self, pred: torch.Tensor, targ: torch.Tensor) -> None:
        targ = pair_shapes(pred, targ.detach(), "r2_score")
        self.preds.append(pred.detach().reshape(len(targ), -1))
        self.targs.append(targ.reshape(len(targ), -1))

    @property
    def value(self) -> float:
        if not self.preds:
            return float("nan")
        # float64 on the CPU: the total sum of squares cancels badly in float32
        preds = torch.cat(self.preds).cpu().double()
        targs = torch.cat(self.targs).cpu().double()
        residual = (targs - preds).square().sum(0)  # (n_outputs,)
        total = (targs - targs.mean(0)).square().sum(0)
        constant = torch.where(residual == 0, 1.0, 0.0).double()
        scores = torch.where(total > 0, 1 - residual / total.clamp(min=1e-300), constant)
        return float(scores.mean())


@register("metric", "perplexity")
class Perplexity(Metric):
    """`exp` of the mean token cross-entropy over the whole set.

    Shapes: logits (B, T, V) against token ids (B, T) (or (B, V) against (B,)); targets equal
    to `ignore_index` (padding) are left out.
    """

    def __init__(self, ignore_index: int = -100) -> None:
        self.ignore_index = int(ignore_index)
        self.reset()

    @property
    def name(self) -> str:
        return "perplexity"

    def reset(self) -> None:
        self.sums: list[torch.Tensor] = []
        self.counts: list[torch.Tensor] = []

    def update(self, pred: torch.Tensor, targ: torch.Tensor) -> None:
        scores, targ = class_scores_last(pred.detach(), targ.detach())
        flat_scores, flat_targ = scores.reshape(-1, scores.shape[-1]).float(), targ.reshape(-1)
        nll = F.cross_entropy(
            flat_scores, flat_targ.long(), ignore_index=self.ignore_index, reduction="sum"
        )
        self.sums.append(nll)
        self.counts.append((flat_targ != self.ignore_index).sum())

    @property
    def value(self) -> float:
        if not self.sums:
            return float("nan")
        count = int(torch.stack(self.counts).sum())
        if count == 0:
            return float("nan")
        return math.exp(float(torch.stack(self.sums).double().sum()) / count)


rmse = RMSE()
r2_score = R2Score()

__all__ = [
    "APScoreBinary", "APScoreMulti", "AccuracyMulti", "BalancedAccuracy", "Dice", "DiceMulti",
    "F1Score", "ForegroundAccuracy", "JaccardCoeff", "JaccardCoeffMulti", "MatthewsCorrCoef",
    "Perplexity", "Precision",
    "R2Score", "RMSE", "Recall", "RocAuc", "RocAucBinary", "RocAucMulti", "TopKAccuracy",
    "accuracy", "accuracy_multi", "balanced_accuracy", "binary_auc", "binary_average_precision",
    "error_rate", "foreground_acc", "mae", "matthews_corrcoef", "mse", "predicted_classes",
    "r2_score", "rmse", "top_k_accuracy",
]  # fmt: skip
