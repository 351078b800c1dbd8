"""Dice, Jaccard and foreground accuracy against scikit-learn on flattened pixels, streamed over
uneven batches (whole-set values, never means of per-batch values)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn import metrics as skm

from lamina.core.registry import lookup
from lamina.train.metric_base import AvgMetric, Metric, as_metric
from lamina.train.metrics import (
    Dice,
    DiceMulti,
    ForegroundAccuracy,
    JaccardCoeff,
    JaccardCoeffMulti,
    foreground_acc,
)

SIZES = (1, 4, 2, 5)  # uneven batches of 12 masks


def feed(metric: Metric, pred: torch.Tensor, targ: torch.Tensor, sizes=SIZES) -> float:
    metric.reset()
    for p, t in zip(pred.split(list(sizes)), targ.split(list(sizes)), strict=True):
        metric.update(p, t)
    return metric.value


def masks_and_logits(seed: int, n_classes: int = 4, n: int = 12, size: int = 10):
    """Masks with blobs of uneven size per item (so per-batch means are wrong), and logits that
    find most of each blob."""
    generator = torch.Generator().manual_seed(seed)
    targ = torch.zeros(n, size, size, dtype=torch.long)
    for i in range(n):
        for c in range(1, n_classes):
            side = int(torch.randint(0, size // 2 + 1, (1,), generator=generator))
            top, left = torch.randint(0, size - side + 1, (2,), generator=generator).tolist()
            targ[i, top : top + side, left : left + side] = c
    hot = torch.nn.functional.one_hot(targ, n_classes).permute(0, 3, 1, 2).float()
    logits = 1.2 * hot + torch.randn(n, n_classes, size, size, generator=generator)
    return logits, targ


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_macro_dice_and_jaccard_are_sklearn_f1_and_jaccard_over_pixels(seed):
    logits, targ = masks_and_logits(seed)
    actual, predicted = targ.flatten().numpy(), logits.argmax(1).flatten().numpy()
    f1 = skm.f1_score(actual, predicted, average="macro")
    jaccard = skm.jaccard_score(actual, predicted, average="macro")
    assert 0.2 < jaccard < 0.95
    assert feed(DiceMulti(), logits, targ) == pytest.approx(f1, rel=1e-12)
    assert feed(JaccardCoeffMulti(), logits, targ) == pytest.approx(jaccard, rel=1e-12)
    # per-batch means of the same scores would not give the whole-set value
    parts = zip(targ.split(list(SIZES)), logits.split(list(SIZES)), strict=True)
    batch_means = [skm.jaccard_score(t.flatten(), p.argmax(1).flatten(), average="macro")
                   for t, p in parts]  # fmt: skip
    assert np.mean(batch_means) != pytest.approx(jaccard, abs=1e-3)


@pytest.mark.parametrize("seed", [0, 1])
def test_foreground_average_merges_every_class_but_the_background(seed):
    logits, targ = masks_and_logits(seed)
    actual = (targ != 0).flatten().numpy()
    predicted = (logits.argmax(1) != 0).flatten().numpy()
    assert feed(Dice(average="foreground"), logits, targ) == pytest.approx(
        skm.f1_score(actual, predicted), rel=1e-12
    )
    assert feed(JaccardCoeff(average="foreground"), logits, targ) == pytest.approx(
        skm.jaccard_score(actual, predicted), rel=1e-12
    )
    # another background class: class 2 is background, 0, 1 and 3 the foreground
    actual, predicted = (targ != 2).flatten().numpy(), (logits.argmax(1) != 2).flatten().numpy()
    assert feed(Dice(average="foreground", bkg_idx=2), logits, targ) == pytest.approx(
        skm.f1_score(actual, predicted), rel=1e-12
    )


def test_binary_masks_from_one_logit_or_two_classes():
    logits, targ = masks_and_logits(3, n_classes=2)
    actual, predicted = targ.flatten().numpy(), logits.argmax(1).flatten().numpy()
    one_logit = logits[:, 1:] - logits[:, :1]  # (B, 1, H, W)
    f1, jaccard = skm.f1_score(actual, predicted), skm.jaccard_score(actual, predicted)
    for pred, mask in ((logits, targ), (one_logit, targ), (one_logit[:, 0], targ),
                       (one_logit, targ[:, None]), (logits, targ[:, None])):  # fmt: skip
        assert feed(Dice(average="foreground"), pred, mask) == pytest.approx(f1, rel=1e-12)
        assert feed(JaccardCoeff(average="foreground"), pred, mask) == pytest.approx(jaccard)
    assert feed(DiceMulti(), one_logit, targ) == pytest.approx(
        skm.f1_score(actual, predicted, average="macro"), rel=1e-12
    )


def test_ignored_target_pixels_are_left_out():
    logits, targ = masks_and_logits(4)
    targ[:, :2] = 255  # a void border
    keep = targ.flatten().numpy() != 255
    actual, predicted = targ.flatten().numpy()[keep], logits.argmax(1).flatten().numpy()[keep]
    assert feed(JaccardCoeffMulti(), logits, targ) == pytest.approx(
        skm.jaccard_score(actual, predicted, average="macro"), rel=1e-12
    )


@pytest.mark.parametrize("seed", [0, 1])
def test_foreground_acc_counts_foreground_pixels_over_the_whole_set(seed):
    logits, targ = masks_and_logits(seed)
    labels = logits.argmax(1)
    foreground = targ != 0
    expected = float((labels[foreground] == targ[foreground]).double().mean())
    metric = as_metric(foreground_acc)
    assert metric is not foreground_acc
    assert metric.name == "foreground_acc"
    assert feed(metric, logits, targ) == pytest.approx(expected, rel=1e-12)
    batch_weighted = feed(AvgMetric(lambda p, t: torch.tensor(feed(ForegroundAccuracy(), p, t,
                                                                   sizes=(len(t),)))),
                          logits, targ)  # fmt: skip
    assert batch_weighted != pytest.approx(expected, abs=1e-3)
    other = targ != 3
    expected_3 = float((labels[other] == targ[other]).double().mean())
    assert feed(ForegroundAccuracy(bkg_idx=3), logits, targ) == pytest.approx(expected_3)


def test_nothing_to_score_is_nan_and_bad_arguments_raise():
    background = torch.zeros(2, 4, 4, dtype=torch.long)
    logits = torch.zeros(2, 3, 4, 4)
    logits[:, 0] = 1  # everything predicted background
    assert math.isnan(feed(Dice(average="foreground"), logits, background, sizes=(2,)))
    assert math.isnan(feed(ForegroundAccuracy(), logits, background, sizes=(2,)))
    assert feed(DiceMulti(), logits, background, sizes=(2,)) == 1.0  # only class 0, all right
    assert math.isnan(JaccardCoeff().value)
    with pytest.raises(ValueError, match=r"average must be one of \('macro', 'foreground'\)"):
        Dice(average="micro")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cannot pair predictions of shape"):
        Dice().update(torch.randn(2, 3, 4, 4), torch.zeros(2, 5, 5, dtype=torch.long))
    with pytest.raises(ValueError, match="bkg_idx=7 is not one of the 3 classes"):
        feed(Dice(average="foreground", bkg_idx=7), logits, background, sizes=(2,))
    metric = JaccardCoeff()
    metric.update(logits, background)
    with pytest.raises(ValueError, match="this batch has 2 classes but earlier ones had 3"):
        metric.update(torch.randn(2, 2, 4, 4), background)


def test_class_axis_can_be_last():
    logits, targ = masks_and_logits(5)
    expected = feed(JaccardCoeffMulti(), logits, targ)
    assert feed(JaccardCoeffMulti(axis=-1), logits.permute(0, 2, 3, 1), targ) == pytest.approx(
        expected
    )


def test_registered_under_their_names():
    for name, cls in (("dice", Dice), ("jaccard_coeff", JaccardCoeff),
                      ("foreground_acc", ForegroundAccuracy)):  # fmt: skip
        assert lookup("metric", name) is cls
        assert as_metric(name).name == name


def test_fastai_defaults_dice_and_jaccard_score_the_foreground():
    logits, targ = masks_and_logits(5, n_classes=2)
    assert feed(Dice(), logits, targ) == feed(Dice(average="foreground"), logits, targ)
    assert feed(JaccardCoeff(), logits, targ) == feed(
        JaccardCoeff(average="foreground"), logits, targ
    )
    assert feed(DiceMulti(), logits, targ) == feed(Dice(average="macro"), logits, targ)
    assert feed(Dice(), logits, targ) != pytest.approx(feed(DiceMulti(), logits, targ))
