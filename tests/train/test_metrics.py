"""Metrics against scikit-learn, over uneven batches where a per-batch mean would be wrong."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn import metrics as skm

from lamina.core.registry import lookup
from lamina.testing import tiny_learner
from lamina.train.metric_base import AvgMetric, Metric, as_metric
from lamina.train.metrics import (
    AccuracyMulti,
    F1Score,
    Perplexity,
    Precision,
    R2Score,
    Recall,
    RocAuc,
    RocAucBinary,
    RocAucMulti,
    TopKAccuracy,
    accuracy,
    accuracy_multi,
    error_rate,
    mae,
    mse,
    r2_score,
    rmse,
    top_k_accuracy,
)

SIZES = (7, 31, 2, 60)  # uneven batches: 100 items


def feed(metric: Metric, pred: torch.Tensor, targ: torch.Tensor, sizes=SIZES) -> float:
    """Reset, update batch by batch, and read the metric."""
    metric.reset()
    for p, t in zip(pred.split(list(sizes)), targ.split(list(sizes)), strict=True):
        metric.update(p, t)
    return metric.value


def per_batch_mean(func, pred: torch.Tensor, targ: torch.Tensor, sizes=SIZES) -> float:
    """The wrong way: an unweighted mean of per-batch scores."""
    parts = zip(pred.split(list(sizes)), targ.split(list(sizes)), strict=True)
    return float(np.mean([func(p, t) for p, t in parts]))


def logits_and_labels(n: int = 100, n_classes: int = 4, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    targ = torch.randint(0, n_classes, (n,), generator=generator)
    # informative but imperfect logits
    pred = torch.randn(n, n_classes, generator=generator) + 1.5 * torch.nn.functional.one_hot(
        targ, n_classes
    )
    return pred, targ


# ----------------------------------------------------------------------------- accuracy family
def test_accuracy_and_error_rate_match_sklearn():
    pred, targ = logits_and_labels()
    expected = skm.accuracy_score(targ.numpy(), pred.argmax(1).numpy())
    assert float(accuracy(pred, targ)) == pytest.approx(expected)
    assert float(error_rate(pred, targ)) == pytest.approx(1 - expected)
    assert feed(AvgMetric(accuracy), pred, targ) == pytest.approx(expected)
    assert float(accuracy(pred, targ[:, None])) == pytest.approx(expected)  # (B, 1) targets


def test_accuracy_on_segmentation_and_sequences():
    pred = torch.randn(3, 5, 4, 6)  # (B, C, H, W)
    targ = torch.randint(0, 5, (3, 4, 6))
    expected = skm.accuracy_score(targ.flatten().numpy(), pred.argmax(1).flatten().numpy())
    assert float(accuracy(pred, targ)) == pytest.approx(expected)
    tokens = torch.randn(3, 7, 11)  # (B, T, V)
    token_targ = torch.randint(0, 11, (3, 7))
    expected = (tokens.argmax(-1) == token_targ).float().mean()
    assert float(accuracy(tokens, token_targ)) == pytest.approx(float(expected))


def test_accuracy_single_logit_is_binary():
    logit = torch.tensor([[2.0], [-1.0], [0.5], [-3.0]])
    targ = torch.tensor([1, 1, 0, 0])
    assert float(accuracy(logit, targ)) == pytest.approx(0.5)


def test_accuracy_shape_mismatch_raises():
    with pytest.raises(ValueError, match=r"cannot pair predictions of shape \(4, 3\)"):
        accuracy(torch.randn(4, 3), torch.randint(0, 3, (5,)))


@pytest.mark.parametrize("k", [1, 2, 3])
def test_top_k_accuracy_matches_sklearn(k):
    pred, targ = logits_and_labels(n_classes=6)
    expected = skm.top_k_accuracy_score(targ.numpy(), pred.numpy(), k=k, labels=range(6))
    assert float(top_k_accuracy(pred, targ, k=k)) == pytest.approx(expected)
    metric = TopKAccuracy(k)
    assert metric.name == f"top_{k}_accuracy"
    assert feed(metric, pred, targ) == pytest.approx(expected)


def test_accuracy_multi_matches_sklearn_hamming():
    generator = torch.Generator().manual_seed(1)
    pred = torch.randn(100, 5, generator=generator)
    targ = (torch.rand(100, 5, generator=generator) > 0.5).long()
    hard = (torch.sigmoid(pred) > 0.5).long()
    expected = 1 - skm.hamming_loss(targ.numpy(), hard.numpy())
    assert float(accuracy_multi(pred, targ)) == pytest.approx(expected)
    probs = torch.sigmoid(pred)
    expected_03 = 1 - skm.hamming_loss(targ.numpy(), (probs > 0.3).long().numpy())
    metric = AccuracyMulti(thresh=0.3, sigmoid=False)
    assert metric.name == "accuracy_multi"
    assert feed(metric, probs, targ) == pytest.approx(expected_03)
    assert expected_03 != pytest.approx(expected)


# ----------------------------------------------------------------------- precision, recall, F1
SCORES = [(Precision, skm.precision_score), (Recall, skm.recall_score), (F1Score, skm.f1_score)]


@pytest.mark.parametrize(("cls", "reference"), SCORES)
@pytest.mark.parametrize("average", ["macro", "micro", "weighted"])
def test_multiclass_scores_match_sklearn(cls, reference, average):
    pred, targ = logits_and_labels(n_classes=5, seed=2)
    kwargs = {"average": average, "zero_division": 0}
    expected = reference(targ.numpy(), pred.argmax(1).numpy(), **kwargs)
    assert feed(cls(average=average), pred, targ) == pytest.approx(expected)


@pytest.mark.parametrize(("cls", "reference"), SCORES)
def test_binary_scores_match_sklearn_where_batch_means_do_not(cls, reference):
    pred, targ = logits_and_labels(n_classes=2, seed=3)
    labels = pred.argmax(1).numpy()
    expected = reference(targ.numpy(), labels, zero_division=0)
    assert feed(cls(), pred, targ) == pytest.approx(expected)
    wrong = per_batch_mean(lambda p, t: reference(t, p.argmax(1), zero_division=0), pred, targ)
    assert wrong != pytest.approx(expected, abs=1e-3)
    expected_neg = reference(targ.numpy(), labels, pos_label=0, zero_division=0)
    assert feed(cls(pos_label=0), pred, targ) == pytest.approx(expected_neg)
    single_logit = (pred[:, 1] - pred[:, 0])[:, None]  # (B, 1), class 1 when > 0
    assert feed(cls(), single_logit, targ) == pytest.approx(expected)


def test_macro_scores_skip_absent_classes_and_binary_refuses_many_classes():
    targ = torch.tensor([0, 0, 2, 2, 2])
    pred = torch.nn.functional.one_hot(torch.tensor([0, 2, 2, 2, 0]), 4).float()
    expected = skm.f1_score(targ.numpy(), pred.argmax(1).numpy(), average="macro")
    assert feed(F1Score(average="macro"), pred, targ, sizes=(2, 3)) == pytest.approx(expected)
    with pytest.raises(ValueError, match="average='binary' got 3 classes"):
        feed(F1Score(), torch.randn(6, 3), torch.tensor([0, 1, 2, 0, 1, 2]), sizes=(6,))


def test_score_constructors_validate():
    with pytest.raises(ValueError, match=r"average must be one of .* got 'mean'"):
        F1Score(average="mean")
    with pytest.raises(ValueError, match="pos_label must be a class index >= 0, got -1"):
        Precision(pos_label=-1)
    with pytest.raises(ValueError, match="k must be a positive integer, got 0"):
        TopKAccuracy(0)
    with pytest.raises(ValueError, match=r"thresh must be in \[0, 1\], got 2"):
        AccuracyMulti(thresh=2)


# ----------------------------------------------------------------------------- ROC AUC
def test_roc_auc_matches_sklearn_over_uneven_batches():
    pred, targ = logits_and_labels(n_classes=2, seed=4)
    probs = torch.softmax(pred, dim=1)[:, 1].numpy()
    expected = skm.roc_auc_score(targ.numpy(), probs)
    assert feed(RocAuc(), pred, targ) == pytest.approx(expected)
    wrong = per_batch_mean(
        lambda p, t: skm.roc_auc_score(t, torch.softmax(p, 1)[:, 1]), pred, targ, sizes=(30, 70)
    )
    assert wrong != pytest.approx(expected, abs=1e-3)
    single_logit = pred[:, 1] - pred[:, 0]
    assert feed(RocAuc(), single_logit, targ) == pytest.approx(expected)


def test_roc_auc_counts_ties_as_half():
    scores = torch.tensor([0.0, 1.0, 1.0, 2.0, 1.0, 0.0, 2.0, 3.0])
    targ = torch.tensor([0, 0, 1, 1, 1, 0, 0, 1])
    expected = skm.roc_auc_score(targ.numpy(), scores.numpy())
    assert feed(RocAuc(), scores, targ, sizes=(3, 5)) == pytest.approx(expected)


def test_roc_auc_single_class_is_nan_with_a_warning_and_binary_refuses_many_classes():
    with pytest.warns(RuntimeWarning, match="roc_auc is undefined: the targets hold a single"):
        value = feed(RocAuc(), torch.randn(5), torch.ones(5, dtype=torch.long), sizes=(5,))
    assert math.isnan(value)
    with pytest.raises(ValueError, match="RocAucBinary is for binary targets.*use RocAucMulti"):
        RocAucBinary().update(torch.randn(4, 3), torch.tensor([0, 1, 2, 0]))


def test_roc_auc_multi_matches_sklearn_ovr_macro():
    pred, targ = logits_and_labels(n_classes=4, seed=5)
    pred = pred + 0.8 * torch.randn(pred.shape)
    probs = torch.softmax(pred, dim=1).numpy()
    expected = skm.roc_auc_score(targ.numpy(), probs, multi_class="ovr", average="macro")
    assert feed(RocAucMulti(), pred, targ) == pytest.approx(expected)


def test_roc_auc_multi_on_multi_label_targets():
    generator = torch.Generator().manual_seed(6)
    targ = (torch.rand(100, 3, generator=generator) > 0.5).long()
    pred = torch.randn(100, 3, generator=generator) + targ
    expected = skm.roc_auc_score(targ.numpy(), torch.sigmoid(pred).numpy(), average="macro")
    assert feed(RocAucMulti(), pred, targ) == pytest.approx(expected)


# ----------------------------------------------------------------------------- regression
def regression_data(seed: int = 7, outputs: int | None = None):
    generator = torch.Generator().manual_seed(seed)
    shape = (100,) if outputs is None else (100, outputs)
    targ = 5 + 3 * torch.randn(shape, generator=generator)
    pred = targ + torch.randn(shape, generator=generator) * torch.linspace(0.1, 3, 100).reshape(
        100, *([1] * (len(shape) - 1))
    )
    return pred, targ


def test_mse_mae_match_sklearn_and_pair_b1_with_b():
    pred, targ = regression_data()
    assert float(mse(pred[:, None], targ)) == pytest.approx(
        skm.mean_squared_error(targ.numpy(), pred.numpy()), rel=1e-5
    )
    assert feed(AvgMetric(mae), pred[:, None], targ) == pytest.approx(
        skm.mean_absolute_error(targ.numpy(), pred.numpy()), rel=1e-5
    )
    with pytest.raises(ValueError, match="does not match"):
        mse(torch.randn(4, 2), torch.randn(4))


def test_rmse_is_whole_set_not_per_batch():
    pred, targ = regression_data()
    expected = math.sqrt(skm.mean_squared_error(targ.numpy(), pred.numpy()))
    metric = as_metric(rmse)
    assert metric is not rmse
    assert metric.name == "rmse"
    assert feed(metric, pred[:, None], targ) == pytest.approx(expected, rel=1e-5)
    wrong = per_batch_mean(lambda p, t: math.sqrt(skm.mean_squared_error(t, p)), pred, targ)
    assert wrong != pytest.approx(expected, rel=1e-3)


@pytest.mark.parametrize("outputs", [None, 3])
def test_r2_score_matches_sklearn_over_uneven_batches(outputs):
    pred, targ = regression_data(outputs=outputs)
    expected = skm.r2_score(targ.numpy(), pred.numpy())
    assert feed(R2Score(), pred, targ) == pytest.approx(expected, rel=1e-6)
    wrong = per_batch_mean(lambda p, t: skm.r2_score(t, p), pred, targ)
    assert wrong != pytest.approx(expected, abs=1e-3)


def test_r2_score_on_large_offset_and_constant_targets():
    pred, targ = regression_data()
    offset = 1e4
    expected = skm.r2_score(targ.numpy(), pred.numpy())
    assert feed(as_metric(r2_score), pred + offset, targ + offset) == pytest.approx(
        expected, abs=2e-3
    )
    constant = torch.full((6,), 2.0)
    assert feed(R2Score(), constant, constant, sizes=(6,)) == 1.0
    assert feed(R2Score(), constant + 1, constant, sizes=(6,)) == 0.0


def test_perplexity_is_exp_of_mean_token_cross_entropy():
    generator = torch.Generator().manual_seed(8)
    pred = torch.randn(10, 6, 13, generator=generator)  # (B, T, V)
    targ = torch.randint(0, 13, (10, 6), generator=generator)
    targ[0, 4:] = -100  # padding
    targ[7, 1:] = -100
    valid = targ != -100
    expected = math.exp(float(torch.nn.functional.cross_entropy(pred[valid], targ[valid])))
    assert feed(Perplexity(), pred, targ, sizes=(1, 6, 3)) == pytest.approx(expected, rel=1e-5)


# ----------------------------------------------------------------------------- registry and Learner
NAMES = ["accuracy", "error_rate", "top_k_accuracy", "accuracy_multi", "precision", "recall",
         "f1_score", "roc_auc", "roc_auc_binary", "roc_auc_multi", "ap_score_binary",
         "ap_score_multi", "balanced_accuracy", "matthews_corrcoef", "dice", "jaccard_coeff",
         "foreground_acc", "mse", "mae", "rmse", "r2_score", "perplexity"]  # fmt: skip


@pytest.mark.parametrize("name", NAMES)
def test_each_metric_is_registered_and_named_as_registered(name):
    metric = as_metric(lookup("metric", name))
    assert as_metric(name).name == metric.name
    expected = "top_k_accuracy" if name == "top_k_accuracy" else name
    assert metric.name == expected


def test_learner_validate_matches_sklearn_on_get_preds():
    learn = tiny_learner(classification=True, metrics=[accuracy, F1Score(average="macro"),
                                                       "error_rate"])  # fmt: skip
    learn.fit(1, lr=1e-2)
    _, acc, f1, err = learn.validate()
    probs, targs = learn.get_preds()
    labels = probs.argmax(1).numpy()
    assert acc == pytest.approx(skm.accuracy_score(targs.numpy(), labels))
    assert f1 == pytest.approx(skm.f1_score(targs.numpy(), labels, average="macro"))
    assert err == pytest.approx(1 - acc)
    assert acc > 0.8
    assert learn.recorder.metric_names[3:6] == ["accuracy", "f1_score", "error_rate"]


def test_learner_with_regression_metrics():
    learn = tiny_learner(metrics=[rmse, mse, R2Score])
    learn.fit(2, lr=0.1)
    _, rmse_value, mse_value, r2_value = learn.validate()
    preds, targs = learn.get_preds()
    assert rmse_value == pytest.approx(math.sqrt(skm.mean_squared_error(targs, preds)), rel=1e-5)
    assert mse_value == pytest.approx(rmse_value**2, rel=1e-5)
    assert r2_value == pytest.approx(skm.r2_score(targs, preds), rel=1e-5)
