"""MixUp and CutMix: mixed inputs, the lambda-weighted loss, and training still works."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lamina import AvgMetric, Callback
from lamina.testing import tiny_learner
from lamina.train.callbacks import CutMix, MixedLoss, MixUp


class Snapshot(Callback):
    """Keeps a copy of the inputs (before_batch) and the loss (after_loss) at its order."""

    run_valid = False

    def __init__(self, order: int) -> None:
        self.order, self.inputs, self.losses = order, [], []

    def before_batch(self) -> None:
        self.inputs.append(self.learn.xb[0].clone())

    def after_loss(self) -> None:
        self.losses.append((self.learn.loss, self.learn.pred.detach(), self.learn.loss_func))


def _accuracy() -> AvgMetric:
    return AvgMetric(lambda pred, targ: (pred.argmax(-1) == targ).float().mean(), "accuracy")


@pytest.mark.parametrize("make", [lambda: MixUp(0.4), lambda: CutMix(1.0)])
def test_inputs_and_loss_are_mixed_with_the_callbacks_lambda(make) -> None:
    mix, before, after = make(), Snapshot(order=5), Snapshot(order=25)
    learn = tiny_learner(classification=True, cbs=[before, mix, after])
    batch = next(iter(learn.dls.train))
    learn.one_batch(batch)
    x, mixed, lam, perm = before.inputs[0], after.inputs[0], mix.lam, mix.perm
    torch.testing.assert_close(x, batch[0])
    assert 0 <= lam <= 1
    assert sorted(perm.tolist()) == list(range(len(x)))
    if isinstance(mix, MixUp):
        torch.testing.assert_close(mixed, lam * x + (1 - lam) * x[perm])
    else:  # each sample keeps a fraction lam of its features, the rest come from its partner
        from_self = (mixed == x).float().mean().item()
        assert from_self == pytest.approx(lam, abs=1 / x.shape[1])
    loss, pred, loss_func = before.losses[0]  # read before the callback restores the loss
    targ = batch[1]
    ce = nn.CrossEntropyLoss()
    expected = lam * ce(pred, targ) + (1 - lam) * ce(pred, targ[perm])
    torch.testing.assert_close(loss, expected)
    assert isinstance(loss_func, MixedLoss)
    assert after.losses[0][2] is learn.loss_func  # restored once the loss exists
    assert isinstance(learn.loss_func, nn.CrossEntropyLoss)


def test_mixed_loss_works_elementwise_with_any_reduction() -> None:
    pred, targ = torch.randn(6, 4), torch.tensor([0, 1, 2, 3, 0, 1])
    perm = torch.tensor([5, 4, 3, 2, 1, 0])
    loss = nn.CrossEntropyLoss(reduction="none")
    mixed = MixedLoss(loss, 0.3, perm)(pred, targ)
    torch.testing.assert_close(mixed, 0.3 * loss(pred, targ) + 0.7 * loss(pred, targ[perm]))
    assert mixed.shape == (6,)


def test_cutmix_pastes_one_box_and_sets_lambda_from_its_area() -> None:
    x = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).reshape(2, 3, 8, 8)
    perm = torch.tensor([1, 0])
    torch.manual_seed(3)
    (mixed,), lam = CutMix().mix((x,), 0.6, perm)
    pasted = mixed != x  # (2, 3, 8, 8): every pixel of the box comes from the partner
    rows, cols = pasted[0, 0].any(1).nonzero().flatten(), pasted[0, 0].any(0).nonzero().flatten()
    box = (slice(rows.min(), rows.max() + 1), slice(cols.min(), cols.max() + 1))
    torch.testing.assert_close(mixed[..., box[0], box[1]], x[perm][..., box[0], box[1]])
    assert pasted.sum() == pasted[..., box[0], box[1]].numel()
    assert lam == pytest.approx(1 - len(rows) * len(cols) / 64)
    assert abs(len(rows) * len(cols) / 64 - 0.4) < 0.25  # about 1 - 0.6 of the area


@pytest.mark.parametrize("mix", [MixUp, CutMix])
def test_training_with_mixing_still_learns(mix: type) -> None:
    learn = tiny_learner(classification=True, metrics=_accuracy(), cbs=[mix()])
    learn.fit(2, lr=2e-2)
    assert learn.recorder.values[-1][2] > 0.95


@pytest.mark.parametrize("mix", [MixUp, CutMix])
def test_validation_uses_the_plain_loss(mix: type) -> None:
    cb = mix()
    learn = tiny_learner(classification=True, cbs=[cb])
    learn.fit(1, lr=1e-2)
    mixed_cb_loss = learn.validate()[0]
    assert learn.recorder.values[-1][1] == pytest.approx(mixed_cb_loss)
    learn.remove_cbs([cb])
    assert learn.validate()[0] == pytest.approx(mixed_cb_loss)


def test_a_failed_batch_does_not_leave_the_mixed_loss_behind() -> None:
    class FailAfterPred(Callback):
        def after_pred(self) -> None:
            if self.learn.training:
                raise RuntimeError("boom")

    fail = FailAfterPred()
    learn = tiny_learner(classification=True, cbs=[MixUp(), fail])
    with pytest.raises(RuntimeError, match="boom"):
        learn.fit(1)
    learn.remove_cbs([fail])
    learn.validate()
    assert isinstance(learn.loss_func, nn.CrossEntropyLoss)


@pytest.mark.parametrize("alpha", [0, -1.0, float("inf"), "0.4"])
def test_rejects_bad_alpha(alpha: object) -> None:
    with pytest.raises(ValueError, match="alpha must be a positive finite number, got"):
        MixUp(alpha)
    with pytest.raises(ValueError, match="alpha must be a positive finite number, got"):
        CutMix(alpha)


def test_cutmix_rejects_integer_inputs() -> None:
    with pytest.raises(ValueError, match=r"CutMix needs floating-point inputs .*torch.int64"):
        CutMix().mix((torch.zeros(4, 5, dtype=torch.long),), 0.5, torch.arange(4))
