"""ROC AUC and average precision against scikit-learn, on a fitted model's scores and on ties,
streamed over uneven batches (the whole-set value, never a mean of per-batch values)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn import metrics as skm
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import label_binarize

from lamina.testing import tiny_learner
from lamina.train.metric_base import Metric, as_metric
from lamina.train.metrics import (
    APScoreBinary,
    APScoreMulti,
    RocAuc,
    RocAucBinary,
    RocAucMulti,
    binary_average_precision,
)


def feed(metric: Metric, pred: torch.Tensor, targ: torch.Tensor, n_batches: int = 5) -> float:
    """Reset, update over `n_batches` uneven batches, and read the metric."""
    cuts = np.linspace(0, len(targ), n_batches + 1) ** 1.3 / len(targ) ** 0.3  # uneven
    sizes = np.diff(np.round(cuts).astype(int)).tolist()
    metric.reset()
    for p, t in zip(pred.split(sizes), targ.split(sizes), strict=True):
        metric.update(p, t)
    return metric.value


def fitted_log_probs(data, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Held-out log-probabilities (N, C), as float64 logits, of a weak logistic regression."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(data.target))
    train, test = order[: len(order) // 2], order[len(order) // 2 :]
    x = data.data / data.data.max(0).clip(min=1e-12)
    features = rng.choice(x.shape[1], size=6, replace=False)  # few features: imperfect
    model = LogisticRegression(C=0.5, max_iter=500).fit(x[train][:, features], data.target[train])
    log_probs = model.predict_log_proba(x[test][:, features])
    return torch.from_numpy(log_probs), torch.from_numpy(data.target[test])


@pytest.fixture(scope="module")
def cancer():
    return load_breast_cancer()


@pytest.fixture(scope="module")
def digits():
    return load_digits()


# ----------------------------------------------------------------------------- binary
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_binary_auc_and_ap_match_sklearn_on_a_fitted_model(cancer, seed):
    logits, targ = fitted_log_probs(cancer, seed)  # (N, 2) log-probabilities
    probs = torch.softmax(logits, 1)[:, 1].numpy()
    auc = skm.roc_auc_score(targ.numpy(), probs)
    ap = skm.average_precision_score(targ.numpy(), probs)
    assert 0.6 < auc < 0.999  # informative but not perfect
    single_logit = logits[:, 1] - logits[:, 0]  # sigmoid of it is the probability
    for pred in (logits, single_logit, single_logit[:, None]):
        assert feed(RocAucBinary(), pred, targ) == pytest.approx(auc, rel=1e-9)
        assert feed(RocAuc(), pred, targ) == pytest.approx(auc, rel=1e-9)
        assert feed(APScoreBinary(), pred, targ) == pytest.approx(ap, rel=1e-9)
    assert feed(RocAuc(), logits, targ[:, None]) == pytest.approx(auc, rel=1e-9)  # (B, 1) targets


def test_streaming_equals_whole_set_where_per_batch_means_differ(cancer):
    logits, targ = fitted_log_probs(cancer, 3)
    probs = torch.softmax(logits, 1)[:, 1].numpy()
    for metric, reference in ((RocAuc(), skm.roc_auc_score),
                              (APScoreBinary(), skm.average_precision_score)):  # fmt: skip
        whole = reference(targ.numpy(), probs)
        parts = zip(np.array_split(targ.numpy(), 4), np.array_split(probs, 4), strict=True)
        batches = [reference(t, p) for t, p in parts]
        assert np.mean(batches) != pytest.approx(whole, abs=1e-3)
        assert feed(metric, logits, targ, n_batches=4) == pytest.approx(whole, rel=1e-9)
        shuffled = torch.randperm(len(targ), generator=torch.Generator().manual_seed(0))
        assert feed(metric, logits[shuffled], targ[shuffled]) == pytest.approx(whole, rel=1e-9)


@pytest.mark.parametrize("seed", range(6))
def test_ties_match_sklearn(seed):
    generator = torch.Generator().manual_seed(seed)
    targ = (torch.rand(80, generator=generator) < 0.3).long()
    scores = (torch.randn(80, generator=generator) + targ).round()  # few distinct values: ties
    expected_auc = skm.roc_auc_score(targ.numpy(), scores.numpy())
    expected_ap = skm.average_precision_score(targ.numpy(), scores.numpy())
    assert feed(RocAuc(), scores, targ) == pytest.approx(expected_auc, rel=1e-12)
    assert feed(APScoreBinary(), scores, targ) == pytest.approx(expected_ap, rel=1e-12)
    assert binary_average_precision(scores, targ.bool()) == pytest.approx(expected_ap, rel=1e-12)


def test_saturated_logits_keep_their_order():
    # sigmoid(20) and sigmoid(30) are both 1.0 in float32; the logits still rank them
    logits = torch.tensor([30.0, 20.0, 25.0, 10.0])
    targ = torch.tensor([1, 0, 1, 0])
    assert feed(RocAucBinary(), logits, targ, n_batches=2) == 1.0
    assert feed(APScoreBinary(), logits, targ, n_batches=2) == 1.0


def test_undefined_values_are_nan_with_a_warning():
    one_class = torch.zeros(6, dtype=torch.long)
    with pytest.warns(RuntimeWarning, match="roc_auc_binary is undefined: the targets hold a"):
        assert math.isnan(feed(RocAucBinary(), torch.randn(6), one_class, n_batches=2))
    with pytest.warns(RuntimeWarning, match="ap_score_binary is undefined: the targets hold no"):
        assert math.isnan(feed(APScoreBinary(), torch.randn(6), one_class, n_batches=2))
    all_positive = torch.ones(6, dtype=torch.long)
    assert feed(APScoreBinary(), torch.randn(6), all_positive, n_batches=2) == pytest.approx(1.0)
    assert math.isnan(RocAuc().value)  # nothing seen: nan, no warning


def test_shape_errors_name_the_shapes_and_the_fix():
    with pytest.raises(ValueError, match=r"APScoreBinary is for binary.*\(4, 3\).*APScoreMulti"):
        APScoreBinary().update(torch.randn(4, 3), torch.tensor([0, 1, 2, 0]))
    metric = RocAuc()
    metric.update(torch.randn(4, 3), torch.tensor([0, 1, 2, 0]))
    with pytest.raises(
        ValueError, match="this batch gives 4 score columns.*earlier batches gave 3"
    ):
        metric.update(torch.randn(4, 4), torch.tensor([0, 1, 2, 3]))


# ----------------------------------------------------------------------------- multi-class, labels
@pytest.mark.parametrize("seed", [0, 1])
def test_multiclass_ovr_matches_sklearn_on_a_fitted_model(digits, seed):
    logits, targ = fitted_log_probs(digits, seed)  # (N, 10)
    probs = torch.softmax(logits, 1).numpy()
    auc = skm.roc_auc_score(targ.numpy(), probs, multi_class="ovr", average="macro")
    ap = skm.average_precision_score(label_binarize(targ.numpy(), classes=range(10)), probs)
    assert 0.6 < auc < 0.999
    assert feed(RocAuc(), logits, targ) == pytest.approx(auc, rel=1e-9)
    assert feed(RocAucMulti(), logits, targ) == pytest.approx(auc, rel=1e-9)
    assert feed(APScoreMulti(), logits, targ) == pytest.approx(ap, rel=1e-9)


@pytest.mark.parametrize("seed", [0, 1])
def test_multi_label_matches_sklearn_macro(seed):
    generator = torch.Generator().manual_seed(seed)
    targ = (torch.rand(150, 4, generator=generator) < torch.tensor([0.2, 0.5, 0.7, 0.4])).long()
    logits = torch.randn(150, 4, generator=generator, dtype=torch.float64) + 1.2 * targ
    probs = torch.sigmoid(logits).numpy()
    auc = skm.roc_auc_score(targ.numpy(), probs, average="macro")
    ap = skm.average_precision_score(targ.numpy(), probs, average="macro")
    assert feed(RocAuc(), logits, targ) == pytest.approx(auc, rel=1e-9)
    assert feed(APScoreMulti(), logits, targ) == pytest.approx(ap, rel=1e-9)


def test_classes_absent_from_the_targets_are_left_out_of_the_mean():
    pred, targ = torch.randn(30, 3, dtype=torch.float64), torch.arange(30) % 2  # class 2 absent
    probs = torch.softmax(pred, 1).numpy()
    per_class = [skm.roc_auc_score(targ.numpy() == c, probs[:, c]) for c in (0, 1)]
    assert feed(RocAuc(), pred, targ) == pytest.approx(np.mean(per_class), rel=1e-9)


# ----------------------------------------------------------------------------- in a Learner
def test_learner_reports_the_same_values_as_sklearn_on_get_preds():
    learn = tiny_learner(classification=True, metrics=[RocAuc(), "ap_score_multi"])
    _, auc, ap = learn.validate()  # untrained: scores far from perfect
    probs, targs = learn.get_preds()
    n_classes = probs.shape[1]
    assert auc == pytest.approx(
        skm.roc_auc_score(targs.numpy(), probs.numpy(), multi_class="ovr"), rel=1e-5
    )
    hot = label_binarize(targs.numpy(), classes=range(n_classes))
    assert ap == pytest.approx(skm.average_precision_score(hot, probs.numpy()), rel=1e-5)
    assert 0.3 < auc < 0.95
    assert len(learn.dls.valid) > 1  # several batches were accumulated
    assert learn.recorder.metric_names[3:5] == ["roc_auc", "ap_score_multi"]
    assert as_metric(RocAuc()).scores == []  # a fresh copy per learner
