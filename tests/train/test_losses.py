"""Losses against PyTorch's functional losses, their shape pairing, and their registry names."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

from lamina.core.registry import lookup, registered_name
from lamina.train.inspect import per_item_loss
from lamina.train.loss_check import activation_for, call_loss
from lamina.train.losses import (
    BCEWithLogitsFlat,
    CrossEntropyFlat,
    FocalLoss,
    L1LossFlat,
    LabelSmoothingCrossEntropy,
    MSELossFlat,
)


# ----------------------------------------------------------------------------- cross-entropy
def test_cross_entropy_flat_matches_torch_on_every_layout():
    logits, targ = torch.randn(8, 5), torch.randint(0, 5, (8,))
    assert torch.allclose(CrossEntropyFlat()(logits, targ), F.cross_entropy(logits, targ))
    assert torch.allclose(CrossEntropyFlat()(logits, targ[:, None]), F.cross_entropy(logits, targ))
    seq, seq_targ = torch.randn(2, 7, 5), torch.randint(0, 5, (2, 7))  # (B, T, C) vs (B, T)
    expected = F.cross_entropy(seq.reshape(-1, 5), seq_targ.reshape(-1))
    assert torch.allclose(CrossEntropyFlat()(seq, seq_targ), expected)
    seg, mask = torch.randn(2, 5, 3, 4), torch.randint(0, 5, (2, 3, 4))  # (B, C, H, W)
    assert torch.allclose(CrossEntropyFlat(axis=1)(seg, mask), F.cross_entropy(seg, mask))


def test_cross_entropy_flat_options_match_torch():
    logits, targ = torch.randn(12, 4), torch.randint(0, 4, (12,))
    targ[3] = -100
    weight = [1.0, 2.0, 0.5, 3.0]
    loss = CrossEntropyFlat(label_smoothing=0.2, weight=weight)
    expected = F.cross_entropy(logits, targ, weight=torch.tensor(weight), label_smoothing=0.2)
    assert torch.allclose(loss(logits, targ), expected)
    soft = torch.softmax(torch.randn(12, 4), dim=1)
    assert torch.allclose(CrossEntropyFlat()(logits, soft), F.cross_entropy(logits, soft))
    for reduction in ("sum", "none"):
        expected = F.cross_entropy(logits, targ, reduction=reduction)
        assert torch.allclose(CrossEntropyFlat(reduction=reduction)(logits, targ), expected)


def test_cross_entropy_none_reduction_keeps_item_shape_for_get_preds():
    seg, mask = torch.randn(2, 5, 3, 4), torch.randint(0, 5, (2, 3, 4))
    loss = CrossEntropyFlat(axis=1)
    assert loss.__class__(axis=1, reduction="none")(seg, mask).shape == (2, 3, 4)
    per_item = per_item_loss(loss, seg, (mask,))
    expected = F.cross_entropy(seg, mask, reduction="none").mean(dim=(1, 2))
    assert torch.allclose(per_item, expected)
    assert loss.reduction == "mean"


def test_cross_entropy_refuses_real_mismatches():
    with pytest.raises(ValueError, match=r"target's shape \(6,\) does not match .* \(8,\)"):
        CrossEntropyFlat()(torch.randn(8, 5), torch.randint(0, 5, (6,)))
    with pytest.raises(ValueError, match="use axis=1"):
        CrossEntropyFlat()(torch.randn(2, 5, 3, 4), torch.randint(0, 5, (2, 3, 4)))
    with pytest.raises(ValueError, match="axis 3 is out of range"):
        CrossEntropyFlat(axis=3)(torch.randn(2, 5), torch.randint(0, 5, (2,)))


def test_label_smoothing_matches_torch_and_the_formula():
    logits, targ = torch.randn(10, 6), torch.randint(0, 6, (10,))
    loss = LabelSmoothingCrossEntropy(eps=0.1)
    assert torch.allclose(loss(logits, targ), F.cross_entropy(logits, targ, label_smoothing=0.1))
    log_probs = torch.log_softmax(logits, dim=1)
    nll = -log_probs.gather(1, targ[:, None]).squeeze(1)
    by_hand = (0.9 * nll - 0.1 * log_probs.mean(dim=1)).mean()
    assert torch.allclose(loss(logits, targ), by_hand)
    assert loss.eps == pytest.approx(0.1)


def test_focal_loss_matches_hand_formula_and_is_cross_entropy_at_gamma_zero():
    logits, targ = torch.randn(16, 3), torch.randint(0, 3, (16,))
    probs = torch.softmax(logits, dim=1).gather(1, targ[:, None]).squeeze(1)
    by_hand = (-((1 - probs) ** 2) * probs.log()).mean()
    assert torch.allclose(FocalLoss()(logits, targ), by_hand, atol=1e-6)
    weight = [0.2, 1.0, 3.0]
    expected = F.cross_entropy(logits, targ, weight=torch.tensor(weight))
    assert torch.allclose(FocalLoss(gamma=0, weight=weight)(logits, targ), expected)
    easy = torch.tensor([[4.0, 0.0, 0.0]])
    easy_ratio = FocalLoss()(easy, torch.tensor([0])) / F.cross_entropy(easy, torch.tensor([0]))
    p_easy = torch.softmax(easy, dim=1)[0, 0]
    assert torch.allclose(easy_ratio, (1 - p_easy) ** 2)  # a confident item counts ~0.1%


def test_focal_loss_ignores_padding_and_keeps_item_shape():
    logits, targ = torch.randn(2, 4, 3), torch.randint(0, 3, (2, 4))
    targ[1, 2:] = -100
    per_item = FocalLoss(gamma=0, reduction="none")(logits, targ)
    assert per_item.shape == (2, 4)
    expected = F.cross_entropy(logits.reshape(-1, 3), targ.reshape(-1))
    assert torch.allclose(FocalLoss(gamma=0)(logits, targ), expected)


# ----------------------------------------------------------------------------- binary, regression
def test_bce_with_logits_flat_matches_torch_with_int_targets_and_pos_weight():
    logits, targ = torch.randn(8, 4), torch.randint(0, 2, (8, 4))
    expected = F.binary_cross_entropy_with_logits(logits, targ.float())
    assert torch.allclose(BCEWithLogitsFlat()(logits, targ), expected)
    pos_weight = [1.0, 2.0, 3.0, 0.5]
    expected = F.binary_cross_entropy_with_logits(
        logits, targ.float(), pos_weight=torch.tensor(pos_weight)
    )
    assert torch.allclose(BCEWithLogitsFlat(pos_weight=pos_weight)(logits, targ), expected)
    single = torch.randn(8, 1)
    expected = F.binary_cross_entropy_with_logits(single.squeeze(1), targ[:, 0].float())
    assert torch.allclose(BCEWithLogitsFlat()(single, targ[:, 0]), expected)
    with pytest.raises(ValueError, match=r"target's shape \(8, 3\) does not match"):
        BCEWithLogitsFlat()(logits, targ[:, :3])


def test_bce_pos_weight_along_channel_axis():
    logits, targ = torch.randn(2, 3, 4, 4), torch.randint(0, 2, (2, 3, 4, 4))
    pos_weight = [1.0, 5.0, 0.1]
    expected = F.binary_cross_entropy_with_logits(
        logits, targ.float(), pos_weight=torch.tensor(pos_weight)[:, None, None]
    )
    assert torch.allclose(BCEWithLogitsFlat(pos_weight=pos_weight, axis=1)(logits, targ), expected)


@pytest.mark.parametrize(("cls", "reference"), [(MSELossFlat, F.mse_loss), (L1LossFlat, F.l1_loss)])
def test_regression_losses_pair_b1_with_b_and_refuse_mismatches(cls, reference):
    pred, targ = torch.randn(9, 1), torch.randn(9)
    assert torch.allclose(cls()(pred, targ), reference(pred.squeeze(1), targ))
    int_targ = torch.randint(0, 5, (9,))
    assert torch.allclose(cls()(pred, int_targ), reference(pred.squeeze(1), int_targ.float()))
    assert cls(reduction="none")(pred, targ).shape == (9, 1)
    with pytest.raises(ValueError, match=r"target's shape \(9,\) does not match .* \(9, 2\)"):
        cls()(torch.randn(9, 2), targ)


# ----------------------------------------------------------------------------- the loss protocol
def test_activation_and_decodes():
    logits = torch.tensor([[1.0, 3.0, 0.0], [2.0, -1.0, 0.5]])
    ce = CrossEntropyFlat()
    assert torch.allclose(ce.activation(logits), torch.softmax(logits, dim=-1))
    assert ce.decodes(logits).tolist() == [1, 0]
    seg = torch.randn(2, 4, 3, 3)
    assert CrossEntropyFlat(axis=1).decodes(seg).shape == (2, 3, 3)
    bce = BCEWithLogitsFlat(thresh=0.8)
    assert torch.allclose(bce.activation(logits), torch.sigmoid(logits))
    assert bce.decodes(logits).tolist() == [[False, True, False], [True, False, False]]
    assert torch.equal(MSELossFlat().decodes(logits), logits)
    assert activation_for(bce) == bce.activation  # loss_check finds the method


REGISTERED = {
    "cross_entropy_flat": CrossEntropyFlat(axis=1, label_smoothing=0.1, weight=[1.0, 2.0]),
    "label_smoothing_cross_entropy": LabelSmoothingCrossEntropy(eps=0.2),
    "bce_with_logits_flat": BCEWithLogitsFlat(thresh=0.3, pos_weight=torch.tensor([2.0, 1.0])),
    "mse_flat": MSELossFlat(),
    "l1_flat": L1LossFlat(reduction="sum"),
    "focal": FocalLoss(gamma=1.5, weight=[0.5, 1.0]),
}


@pytest.mark.parametrize("name", sorted(REGISTERED))
def test_each_loss_rebuilds_from_its_name_and_json_config(name):
    loss = REGISTERED[name]
    assert registered_name("loss", loss) == name
    config = json.loads(json.dumps(loss.config()))
    rebuilt = lookup("loss", name)(**config)
    assert rebuilt.config() == loss.config()
    logits, targ = torch.randn(4, 2), torch.randint(0, 2, (4,))
    if name == "bce_with_logits_flat":
        targ = torch.randint(0, 2, (4, 2))
    if name in ("mse_flat", "l1_flat"):
        targ = torch.randn(4, 2)
    if name == "cross_entropy_flat":
        logits = torch.randn(4, 2, 3)  # axis=1
        targ = torch.randint(0, 2, (4, 3))
    assert torch.allclose(rebuilt(logits, targ), loss(logits, targ))


def test_constructors_validate_their_arguments():
    with pytest.raises(ValueError, match=r"reduction must be one of .* got 'avg'"):
        MSELossFlat(reduction="avg")
    with pytest.raises(ValueError, match=r"label_smoothing must be in \[0, 1\), got 1.5"):
        CrossEntropyFlat(label_smoothing=1.5)
    with pytest.raises(ValueError, match=r"eps must be in \[0, 1\), got -0.1"):
        LabelSmoothingCrossEntropy(eps=-0.1)
    with pytest.raises(ValueError, match=r"gamma must be a finite number >= 0, got -1"):
        FocalLoss(gamma=-1)
    with pytest.raises(ValueError, match=r"thresh must be in \(0, 1\), got 1.2"):
        BCEWithLogitsFlat(thresh=1.2)
    with pytest.raises(ValueError, match="weight must be a non-empty sequence"):
        CrossEntropyFlat(weight=[1.0, -2.0])
    with pytest.raises(ValueError, match="axis must be an integer"):
        CrossEntropyFlat(axis="channels")


def test_call_loss_names_the_culprit_and_learning_works():
    with pytest.raises(ValueError, match="the loss CrossEntropyFlat cannot pair"):
        call_loss(CrossEntropyFlat(), torch.randn(8, 5), (torch.randint(0, 5, (6,)),))
    torch.manual_seed(0)
    x = torch.randn(64, 2)
    y = (x[:, 0] > 0).long()
    model = torch.nn.Linear(2, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    loss_func = FocalLoss()
    for _ in range(50):
        loss = loss_func(model(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad()
    assert (loss_func.decodes(model(x)) == y).float().mean() > 0.9
