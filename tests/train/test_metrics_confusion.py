"""Balanced accuracy and Matthews correlation against scikit-learn, streamed over uneven batches."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn import metrics as skm
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.linear_model import LogisticRegression

from lamina.testing import tiny_learner
from lamina.train.metric_base import Metric, as_metric
from lamina.train.metrics import (
    BalancedAccuracy,
    MatthewsCorrCoef,
    balanced_accuracy,
    matthews_corrcoef,
)

SIZES = (3, 40, 1, 56)  # uneven batches of 100 items


def feed(metric: Metric, pred: torch.Tensor, targ: torch.Tensor, sizes=SIZES) -> float:
    metric.reset()
    for p, t in zip(pred.split(list(sizes)), targ.split(list(sizes)), strict=True):
        metric.update(p, t)
    return metric.value


def held_out_logits(data, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """100 held-out items: logits (log-probabilities) of a weak logistic regression, labels."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(data.target))
    train, test = order[:-100], order[-100:]
    features = rng.choice(data.data.shape[1], size=5, replace=False)
    x = data.data[:, features] / data.data[:, features].max(0).clip(min=1e-12)
    model = LogisticRegression(max_iter=500).fit(x[train], data.target[train])
    return torch.from_numpy(model.predict_log_proba(x[test])), torch.from_numpy(data.target[test])


@pytest.mark.parametrize("loader", [load_breast_cancer, load_digits])
@pytest.mark.parametrize("seed", [0, 1])
def test_balanced_accuracy_and_mcc_match_sklearn_on_a_fitted_model(loader, seed):
    logits, targ = held_out_logits(loader(), seed)
    labels = logits.argmax(1).numpy()
    expected = skm.balanced_accuracy_score(targ.numpy(), labels)
    adjusted = skm.balanced_accuracy_score(targ.numpy(), labels, adjusted=True)
    mcc = skm.matthews_corrcoef(targ.numpy(), labels)
    assert 0.2 < expected < 0.99
    assert 0.1 < mcc < 0.99
    assert feed(BalancedAccuracy(), logits, targ) == pytest.approx(expected, rel=1e-12)
    assert feed(BalancedAccuracy(adjusted=True), logits, targ) == pytest.approx(adjusted)
    assert feed(MatthewsCorrCoef(), logits, targ) == pytest.approx(mcc, rel=1e-12)


def test_binary_from_one_logit_and_whole_set_not_batch_means():
    generator = torch.Generator().manual_seed(3)
    targ = (torch.rand(100, generator=generator) < 0.25).long()  # imbalanced
    logit = torch.randn(100, generator=generator) + 1.5 * targ - 0.7
    labels = (logit > 0).long().numpy()
    for metric, reference in ((as_metric(balanced_accuracy), skm.balanced_accuracy_score),
                              (as_metric(matthews_corrcoef), skm.matthews_corrcoef)):  # fmt: skip
        whole = reference(targ.numpy(), labels)
        assert feed(metric, logit, targ) == pytest.approx(whole, rel=1e-12)
        assert feed(metric, logit[:, None], targ) == pytest.approx(whole, rel=1e-12)
        parts = zip(targ.split(list(SIZES))[1::2], logit.split(list(SIZES))[1::2], strict=True)
        batch_mean = np.mean([reference(t.numpy(), (p > 0).long().numpy()) for t, p in parts])
        assert batch_mean != pytest.approx(whole, abs=1e-3)


def test_sequences_and_pixels_count_every_position():
    generator = torch.Generator().manual_seed(4)
    pred, targ = torch.randn(6, 4, 5, 5, generator=generator), torch.randint(0, 4, (6, 5, 5))
    labels = pred.argmax(1).flatten().numpy()
    assert feed(MatthewsCorrCoef(), pred, targ, sizes=(2, 4)) == pytest.approx(
        skm.matthews_corrcoef(targ.flatten().numpy(), labels)
    )


def test_degenerate_cases_follow_sklearn():
    targ = torch.tensor([0, 1, 2, 1, 0, 1])
    all_one = torch.nn.functional.one_hot(torch.ones(6, dtype=torch.long), 3).float()
    assert feed(MatthewsCorrCoef(), all_one, targ, sizes=(6,)) == 0.0  # one predicted class
    # a class predicted but never true is left out of balanced accuracy
    pred = torch.nn.functional.one_hot(torch.tensor([0, 1, 3, 1, 0, 3]), 4).float()
    with pytest.warns(UserWarning, match="y_pred contains classes not in y_true"):
        expected = skm.balanced_accuracy_score(targ.numpy(), pred.argmax(1).numpy())
    assert feed(BalancedAccuracy(), pred, targ, sizes=(2, 4)) == pytest.approx(expected)
    with pytest.warns(RuntimeWarning, match="adjusted balanced_accuracy is undefined"):
        value = feed(BalancedAccuracy(adjusted=True), pred[:2], torch.zeros(2).long(), sizes=(2,))
    assert math.isnan(value)
    assert math.isnan(MatthewsCorrCoef().value)


def test_regression_targets_are_refused():
    with pytest.raises(ValueError, match="needs class indices as targets.*rmse"):
        feed(MatthewsCorrCoef(), torch.randn(4, 3), torch.tensor([0.5, 1.0, 2.0, 0.0]), sizes=(4,))
    with pytest.raises(ValueError, match="got negative targets; class indices start at 0"):
        feed(BalancedAccuracy(), torch.randn(4, 3), torch.tensor([0, -1, 2, 0]), sizes=(4,))


def test_in_a_learner_they_match_sklearn_on_get_preds():
    learn = tiny_learner(classification=True, metrics=[BalancedAccuracy, "matthews_corrcoef"])
    _, bal, mcc = learn.validate()
    probs, targs = learn.get_preds()
    labels = probs.argmax(1).numpy()
    assert bal == pytest.approx(skm.balanced_accuracy_score(targs.numpy(), labels))
    assert mcc == pytest.approx(skm.matthews_corrcoef(targs.numpy(), labels))
    assert learn.recorder.metric_names[3:5] == ["balanced_accuracy", "matthews_corrcoef"]
