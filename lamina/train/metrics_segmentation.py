"""Segmentation metrics over the whole validation set: Dice, Jaccard (IoU), foreground accuracy.

Per-batch means would weigh a batch with little foreground as much as one with much, so each
metric adds every batch's pixel counts into running totals on the device (a (C, C) confusion
matrix, or two counts) and divides once when `value` is read. Over the flattened pixels, Dice is
scikit-learn's `f1_score` and Jaccard its `jaccard_score`, with the same `average` meaning for
"macro" (classes present in targets or predictions).

Shapes: logits (B, C, H, W) (class axis `axis`, default 1) against masks of class indices
(B, H, W); or one logit per pixel, (B, 1, H, W) or (B, H, W), against 0/1 masks (binary,
logit > 0). Target pixels outside [0, C), such as an ignore index of 255, are left out.
"""

from __future__ import annotations

from typing import Literal

import torch

from lamina.core.registry import register
from lamina.train.metric_base import Metric
from lamina.train.metric_shapes import predicted_classes

SEGMENTATION_AVERAGES = ("macro", "foreground")


def _check_class_index(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{what} must be an integer, got {value!r}")
    return value


def _labels_and_classes(
    pred: torch.Tensor, targ: torch.Tensor, axis: int, name: str
) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Predicted class of each pixel, the targets in the same shape, and the number of classes."""
    if targ.ndim == pred.ndim and targ.shape[axis] == 1 and pred.shape[axis] > 1:
        targ = targ.squeeze(axis)  # (B, 1, H, W) masks against (B, C, H, W) logits
    if pred.numel() == targ.numel():  # one score per pixel: binary
        labels = (pred > 0).long() if pred.is_floating_point() else pred.long()
        if bool((labels > 1).any()) or bool((labels < 0).any()):
            raise ValueError(
                f"{name} got one integer prediction per pixel with values outside 0/1; pass "
                "logits with a class axis, (B, C, H, W), for more than two classes"
            )
        return labels.reshape(targ.shape), targ, 2
    if pred.ndim == targ.ndim + 1 and pred.movedim(axis, -1).shape[:-1] == targ.shape:
        return pred.argmax(dim=axis), targ, pred.shape[axis]
    raise ValueError(
        f"{name} cannot pair predictions of shape {tuple(pred.shape)} with masks of shape "
        f"{tuple(targ.shape)}: expected logits with the class axis at axis {axis} and masks "
        "without it, e.g. (B, C, H, W) against (B, H, W)"
    )


def pixel_confusion(actual: torch.Tensor, predicted: torch.Tensor, n_classes: int) -> torch.Tensor:
    """A (C, C) int64 count matrix, rows actual class, columns predicted; actual values outside
    [0, C) (an ignore index) are left out."""
    actual, predicted = actual.reshape(-1).long(), predicted.reshape(-1).long()
    keep = (actual >= 0) & (actual < n_classes)
    flat = actual[keep] * n_classes + predicted[keep]
    return torch.bincount(flat, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


class _MaskConfusion(Metric):
    """Adds each batch into a (C, C) pixel confusion matrix on the device; scores it at the end
    with `per_class`, averaged as `average` says (see `Dice` for the arguments)."""

    default_name = ""
    default_average: Literal["macro", "foreground"] = "foreground"

    def __init__(
        self,
        axis: int = 1,
        average: Literal["macro", "foreground"] | None = None,
        bkg_idx: int = 0,
    ) -> None:
        self.axis = _check_class_index(axis, "axis (the class axis)")
        average = self.default_average if average is None else average
        if average not in SEGMENTATION_AVERAGES:
            raise ValueError(f"average must be one of {SEGMENTATION_AVERAGES}, got {average!r}")
        self.average, self.bkg_idx = average, _check_class_index(bkg_idx, "bkg_idx")
        self.reset()

    @property
    def name(self) -> str:
        return self.default_name

    def reset(self) -> None:
        self.confusion: torch.Tensor | None = None

    def update(self, pred: torch.Tensor, targ: torch.Tensor) -> None:
        labels, targ, n_classes = _labels_and_classes(
            pred.detach(), targ.detach(), self.axis, self.name
        )
        if self.confusion is not None and len(self.confusion) != n_classes:
            raise ValueError(
                f"{self.name}: this batch has {n_classes} classes but earlier ones had "
                f"{len(self.confusion)}"
            )
        counts = pixel_confusion(targ, labels, n_classes)
        self.confusion = counts if self.confusion is None else self.confusion + counts

    def per_class(self, hits: torch.Tensor, sizes: torch.Tensor) -> torch.Tensor:
        """Each class's score from its pixels both predicted and actual (`hits`) and its
        predicted plus actual pixels (`sizes`)."""
        raise NotImplementedError

    @property
    def value(self) -> float:
        if self.confusion is None:
            return float("nan")
        matrix = self.confusion.cpu().double()
        if self.average == "foreground":
            if not 0 <= self.bkg_idx < len(matrix):
                raise ValueError(
                    f"bkg_idx={self.bkg_idx} is not one of the {len(matrix)} classes (0 to "
                    f"{len(matrix) - 1})"
                )
            foreground = torch.ones(len(matrix), dtype=torch.bool)
            foreground[self.bkg_idx] = False
            hits = matrix[foreground][:, foreground].sum().reshape(1)
            sizes = (matrix[foreground].sum() + matrix[:, foreground].sum()).reshape(1)
        else:
            hits, sizes = matrix.diagonal(), matrix.sum(0) + matrix.sum(1)
        present = sizes > 0
        if not bool(present.any()):
            return float("nan")
        return float(self.per_class(hits[present], sizes[present]).mean())


@register("metric", "dice")
class Dice(_MaskConfusion):
    """Dice coefficient 2 |P and A| / (|P| + |A|) of predicted (P) and actual (A) pixels.

    The default, `average="foreground"`, scores foreground against background, as fastai's
    `Dice` does on 0/1 masks; `DiceMulti()` (or `Dice(average="macro")`) is the mean over the
    classes present, as fastai's `DiceMulti`.

    Args:
        axis: the class axis of the logits.
        average: "foreground", one score for all classes but `bkg_idx` merged into one
            foreground class against the background (for 0/1 masks: the score of class 1); or
            "macro", the mean over the classes present in targets or predictions of each
            class's score. None takes the class's default.
        bkg_idx: the background class, for `average="foreground"`.

    Example:
        >>> learn = unet_learner(dls, "resnet34", metrics=[DiceMulti(), foreground_acc])
    """

    default_name = "dice"

    def per_class(self, hits: torch.Tensor, sizes: torch.Tensor) -> torch.Tensor:
        return 2 * hits / sizes


@register("metric", "dice_multi")
class DiceMulti(Dice):
    """`Dice` averaged over the classes present (`average="macro"`), as fastai's `DiceMulti`."""

    default_name = "dice_multi"
    default_average = "macro"


@register("metric", "jaccard_coeff")
class JaccardCoeff(_MaskConfusion):
    """Jaccard coefficient, or intersection over union, |P and A| / |P or A| of predicted (P)
    and actual (A) pixels. `average="foreground"` (default, as fastai's `JaccardCoeff`) scores
    foreground against background; `JaccardCoeffMulti()` (or `average="macro"`) is the mean IoU
    over the classes present. Args as `Dice`.
    """

    default_name = "jaccard_coeff"

    def per_class(self, hits: torch.Tensor, sizes: torch.Tensor) -> torch.Tensor:
        return hits / (sizes - hits)


@register("metric", "jaccard_coeff_multi")
class JaccardCoeffMulti(JaccardCoeff):
    """`JaccardCoeff` averaged over the classes present (mean IoU, `average="macro"`), as
    fastai's `JaccardCoeffMulti`."""

    default_name = "jaccard_coeff_multi"
    default_average = "macro"


@register("metric", "foreground_acc")
class ForegroundAccuracy(Metric):
    """Pixel accuracy over the pixels whose target is not the background class `bkg_idx`.

    Counted over the whole set, so a batch with little foreground weighs little. Nan when no
    target pixel is foreground. Shapes as `accuracy`: (B, C, H, W) logits against (B, H, W).
    """

    def __init__(self, bkg_idx: int = 0) -> None:
        self.bkg_idx = _check_class_index(bkg_idx, "bkg_idx")
        self.reset()

    @property
    def name(self) -> str:
        return "foreground_acc"

    def reset(self) -> None:
        self.correct: torch.Tensor | int = 0
        self.count: torch.Tensor | int = 0

    def update(self, pred: torch.Tensor, targ: torch.Tensor) -> None:
        labels, targ = predicted_classes(pred.detach(), targ.detach())
        foreground = targ != self.bkg_idx
        self.correct = self.correct + (labels[foreground] == targ[foreground]).sum()
        self.count = self.count + foreground.sum()

    @property
    def value(self) -> float:
        count = int(self.count)
        return float(self.correct) / count if count else float("nan")


foreground_acc = ForegroundAccuracy()

__all__ = [
    "Dice", "ForegroundAccuracy", "JaccardCoeff", "foreground_acc", "pixel_confusion",
]  # fmt: skip
