"""`get_preds(with_decoded=...)` and the order of what it returns (fastai's)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lamina import BCEWithLogitsFlat, CrossEntropyFlat, DataLoaders, Learner
from lamina.testing import TinyMLP, tiny_learner
from lamina.train.loss_check import decodes_for


@pytest.mark.parametrize("loss", [nn.CrossEntropyLoss(), CrossEntropyFlat()])
def test_decoded_are_the_class_indices(loss: nn.Module) -> None:
    learn = tiny_learner(classification=True, lr=1e-2)
    learn.loss_func = loss
    learn.fit(1)
    probs, targs, decoded = learn.get_preds(with_decoded=True)
    assert decoded.dtype == torch.int64
    assert torch.equal(decoded, probs.argmax(dim=1))
    assert decoded.shape == targs.shape == (128,)


def test_multi_label_decoded_are_thresholded_by_the_loss() -> None:
    torch.manual_seed(0)
    x = torch.randn(96, 8)
    y = (x[:, :3] > 0).float()  # (96, 3) 0/1 labels
    dls = DataLoaders.from_tensors((x[:64], y[:64]), (x[64:], y[64:]), bs=16, device="cpu")
    learn = Learner(dls, TinyMLP(), loss_func=BCEWithLogitsFlat(thresh=0.3), lr=1e-2)
    learn.progress.silent = True
    learn.fit(1)
    probs, _, decoded = learn.get_preds(with_decoded=True)
    assert torch.equal(decoded, probs > 0.3)
    assert decoded.any()
    assert not decoded.all()


def test_regression_decoded_are_the_values() -> None:
    learn = tiny_learner()
    preds, _, decoded = learn.get_preds(with_decoded=True)
    assert torch.equal(decoded, preds)


def test_everything_comes_in_fastais_order() -> None:
    learn = tiny_learner(classification=True)
    inputs, probs, targs, decoded, losses = learn.get_preds(
        with_input=True, with_decoded=True, with_loss=True
    )
    assert inputs.shape == (128, 8)
    assert probs.shape == (128, 3)
    assert targs.shape == decoded.shape == losses.shape == (128,)
    # positional use means what it means in fastai: ds_idx, dl, with_input, with_decoded
    assert len(learn.get_preds(1, None, False, True)) == 3


def test_decodes_for_torch_losses() -> None:
    logits = torch.tensor([[0.1, 2.0, -1.0], [3.0, 0.0, 0.5]])
    ce = decodes_for(nn.CrossEntropyLoss())
    bce = decodes_for(nn.BCEWithLogitsLoss())
    assert ce is not None
    assert bce is not None
    assert ce(logits).tolist() == [1, 0]
    assert bce(logits).tolist() == [[True, True, False], [True, False, True]]
    assert decodes_for(nn.MSELoss()) is None
