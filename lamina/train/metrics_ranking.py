"""Ranking metrics: ROC AUC and average precision, exact over the whole validation set.

Both depend on the order of every score in the set, so no per-batch value can be averaged: each
metric keeps the batches' scores and targets on the device and ranks them once when `value` is
read. The ranking is written here in torch (float64 on the CPU) rather than by calling
scikit-learn, so that validation never imports it; the tests hold both to scikit-learn's
`roc_auc_score` and `average_precision_score`, ties included.

Scores are taken from logits without applying the activation where the order is the same
(a sigmoid or a two-class softmax is monotonic in the logit or the logit difference), which also
keeps confident predictions from saturating into ties.

Undefined values: AUC needs both classes among the targets, average precision at least one
positive. Where a score is undefined the metric is nan and a `RuntimeWarning` says why (where
scikit-learn raises for AUC, and gives 0 for average precision). Averaged over classes or labels,
the undefined ones are left out of the mean.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import torch
import torch.nn.functional as F

from lamina.core.registry import register
from lamina.train.metric_base import Metric
from lamina.train.metric_shapes import class_scores_last, single_score, squeeze_label_axis


def binary_auc(scores: torch.Tensor, positive: torch.Tensor) -> float:
    """Area under the ROC curve of `scores` for boolean labels `positive`; nan if one class.

    Uses the rank-sum identity: AUC is the probability that a random positive outscores a
    random negative, ties counting half (average ranks).
    """
    n_pos = int(positive.sum())
    n_neg = positive.numel() - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    _, inverse, counts = torch.unique(scores, sorted=True, return_inverse=True, return_counts=True)
    last_rank = counts.cumsum(0).double()
    mean_rank = last_rank - (counts.double() - 1) / 2  # 1-based average rank of each value
    rank_sum = mean_rank[inverse][positive].sum()
    return float((rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def binary_average_precision(scores: torch.Tensor, positive: torch.Tensor) -> float:
    """Average precision of `scores` for boolean labels `positive`; nan if no positive.

    The area under the precision-recall curve as a step sum: for each distinct score, taken as
    a threshold from the highest down, the precision at that threshold times the recall it
    adds. Tied scores form one threshold (scikit-learn's `average_precision_score`).
    """
    n_pos = int(positive.sum())
    if n_pos == 0:
        return float("nan")
    order = scores.argsort(descending=True, stable=True)
    sorted_scores, hits = scores[order], positive[order].double()
    # the last position of each run of equal scores is where that threshold's counts are read
    ends = torch.nonzero(sorted_scores[1:] != sorted_scores[:-1]).reshape(-1)
    ends = torch.cat([ends, torch.tensor([len(scores) - 1])])
    true_pos = hits.cumsum(0)[ends]
    precision = true_pos / (ends + 1).double()
    recall = true_pos / n_pos
    gained = torch.diff(recall, prepend=recall.new_zeros(1))
    return float((gained * precision).sum())


def _score_dtype(device: torch.device) -> torch.dtype:
    """float64, so that close scores stay distinct, where the device has it (MPS has not)."""
    return torch.float32 if device.type == "mps" else torch.float64


class _RankingMetric(Metric):
    """Gathers one score column per class (or label) with its boolean targets; at `value`,
    scores each column with `column_score` and averages the columns where it is defined.

    Inputs, by shape:
    - one score per item, (B,) or (B, 1), against 0/1 targets: binary, the score is the logit;
    - (B, 2) logits against class indices (B,): binary, the score is the logit difference, which
      ranks as the softmax probability of class 1;
    - (B, C) logits against class indices (B,) (or (B, T, C), (B, C, H, W) against targets
      without the class axis): one class against the rest, for each class, from the softmax;
    - (B, C) logits against 0/1 targets (B, C): multi-label, each label from its own logit.
    """

    column_score: Callable[[torch.Tensor, torch.Tensor], float]
    default_name = ""
    undefined_reason = ""
    binary_only = False

    def __init__(self) -> None:
        self.reset()

    @property
    def name(self) -> str:
        return self.default_name

    def reset(self) -> None:
        self.scores: list[torch.Tensor] = []
        self.targs: list[torch.Tensor] = []

    def _columns(self, pred: torch.Tensor, targ: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, K) scores and boolean targets: K = 1 when binary, else one per class or label."""
        targ = squeeze_label_axis(pred, targ)
        pred = pred.to(_score_dtype(pred.device))
        if pred.ndim == 2 and pred.shape == targ.shape and pred.shape[1] > 1:  # multi-label
            return pred, targ.bool()
        if single_score(pred, targ):
            return pred.reshape(-1, 1), (targ.reshape(-1, 1) == 1)
        if pred.ndim == 2 and pred.shape[1] == 2 and targ.shape == pred.shape[:1]:
            return (pred[:, 1] - pred[:, 0]).reshape(-1, 1), (targ.reshape(-1, 1) == 1)
        scores, targ = class_scores_last(pred, targ)
        scores = torch.log_softmax(scores, dim=-1).reshape(-1, scores.shape[-1])
        return scores, F.one_hot(targ.reshape(-1).long(), scores.shape[-1]).bool()

    def update(self, pred: torch.Tensor, targ: torch.Tensor) -> None:
        scores, positive = self._columns(pred.detach(), targ.detach())
        if self.binary_only and scores.shape[1] != 1:
            raise ValueError(
                f"{type(self).__name__} is for binary targets: got predictions of shape "
                f"{tuple(pred.shape)} and targets of shape {tuple(targ.shape)}; for more classes "
                f"or for multi-label targets use {type(self).__name__.replace('Binary', 'Multi')}"
            )
        if self.scores and self.scores[0].shape[1] != scores.shape[1]:
            raise ValueError(
                f"{self.name}: this batch gives {scores.shape[1]} score columns (predictions of "
                f"shape {tuple(pred.shape)}) but earlier batches gave {self.scores[0].shape[1]}; "
                "every batch must have the same classes"
            )
        self.scores.append(scores)
        self.targs.append(positive)

    @property
    def value(self) -> float:
        if not self.scores:
            return float("nan")
        scores, targs = torch.cat(self.scores).cpu(), torch.cat(self.targs).cpu()
        score = type(self).column_score
        values = [score(scores[:, k], targs[:, k]) for k in range(scores.shape[1])]
        defined = [v for v in values if not math.isnan(v)]
        if not defined:
            warnings.warn(
                f"{self.name} is undefined: {self.undefined_reason}; it is nan. Validate on a set "
                "holding both classes (or, averaged, at least one class or label that does)",
                RuntimeWarning,
                stacklevel=2,
            )
            return float("nan")
        return sum(defined) / len(defined)


@register("metric", "roc_auc")
class RocAuc(_RankingMetric):
    """ROC AUC over the whole set: binary, or macro-averaged one-vs-rest over classes or labels.

    Binary from one logit per item (sigmoid) or from (B, 2) logits (softmax) against 0/1
    targets; one-vs-rest from (B, C) logits (softmax) against class indices; per label from
    (B, C) logits against 0/1 multi-label targets (sigmoid). Ties count half. Classes or labels
    whose targets are all positive or all negative are left out of the mean; the value is nan,
    with a warning, when none is left (e.g. a single class in the validation set).

    Example:
        >>> learn = Learner(dls, model, metrics=[accuracy, RocAuc()])
    """

    column_score = staticmethod(binary_auc)
    default_name = "roc_auc"
    undefined_reason = "the targets hold a single class, and AUC needs positives and negatives"


@register("metric", "roc_auc_binary")
class RocAucBinary(RocAuc):
    """`RocAuc` for binary targets only: it raises, rather than averaging, if given more classes.

    Shapes: one logit per item (B,) / (B, 1), or (B, 2) logits, against 0/1 targets (B,).
    """

    default_name = "roc_auc_binary"
    binary_only = True


@register("metric", "roc_auc_multi")
class RocAucMulti(RocAuc):
    """`RocAuc` under its lamina 0.2 name, for (B, C) logits: one-vs-rest against class
    indices, or per label against multi-label 0/1 targets, macro-averaged."""

    default_name = "roc_auc_multi"


@register("metric", "ap_score_binary")
class APScoreBinary(_RankingMetric):
    """Average precision (area under the precision-recall curve) of a binary classifier.

    Shapes: one logit per item (B,) / (B, 1) (sigmoid), or (B, 2) logits (softmax), against 0/1
    targets (B,). Nan, with a warning, when the validation set holds no positive.
    """

    column_score = staticmethod(binary_average_precision)
    default_name = "ap_score_binary"
    undefined_reason = "the targets hold no positive, and average precision needs one"
    binary_only = True


@register("metric", "ap_score_multi")
class APScoreMulti(_RankingMetric):
    """Average precision macro-averaged over labels (multi-label 0/1 targets (B, C) against
    (B, C) logits) or over classes one-vs-rest (class indices (B,) against (B, C) logits).
    Labels or classes with no positive are left out of the mean."""

    column_score = staticmethod(binary_average_precision)
    default_name = "ap_score_multi"
    undefined_reason = "the targets hold no positive, and average precision needs one"


__all__ = [
    "APScoreBinary", "APScoreMulti", "RocAuc", "RocAucBinary", "RocAucMulti",
    "binary_auc", "binary_average_precision",
]  # fmt: skip
