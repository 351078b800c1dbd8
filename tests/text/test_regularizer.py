"""AR/TAR on AWD-LSTM learners: the penalty added is the one the paper defines, and only it."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from lamina.text import TextDataLoaders, language_model_learner, text_classifier_learner
from lamina.text.regularizer import RNNRegularizer
from lamina.train.callback import Callback

SMALL = {"emb_sz": 16, "n_hid": 32, "n_layers": 2}


class _Capture(Callback):
    """Keeps the task loss and the loss that backward will see, for one batch."""

    def __init__(self) -> None:
        self.task: list[float] = []
        self.total: list[float] = []

    def before_backward(self) -> None:
        self.task.append(float(self.learn.loss))
        self.total.append(float(self.learn.loss_grad.detach()))


def _lm_learner(frame: pd.DataFrame, **kwargs):
    dls = TextDataLoaders.from_df(frame, text_col="text", is_lm=True, seed=0, bs=4, seq_len=12,
                                  min_freq=1, device="cpu")  # fmt: skip
    learn = language_model_learner(dls, "awd_lstm", config=SMALL, **kwargs)
    learn.progress.silent = True
    return learn


def _expected_penalty(learn, batch, alpha: float, beta: float) -> float:
    """AR on the output dropout's result, TAR on the encoder's output, from hooks of our own."""
    seen: dict[str, torch.Tensor] = {}
    model = learn.model
    handles = [
        model.encoder.register_forward_hook(lambda m, a, out: seen.__setitem__("raw", out)),
        model.output_dropout.register_forward_hook(lambda m, a, out: seen.__setitem__("drop", out)),
    ]
    model.train()
    model.reset()
    with torch.no_grad():
        model(batch[0])
    for handle in handles:
        handle.remove()
    raw, dropped = seen["raw"], seen["drop"]
    ar = dropped.pow(2).mean()
    tar = (raw[:, 1:] - raw[:, :-1]).pow(2).mean()
    return float(alpha * ar + beta * tar)


def test_the_language_model_loss_gains_ar_and_tar(labelled_sentences) -> None:
    torch.manual_seed(0)
    # without dropout the outputs are the same in both runs
    learn = _lm_learner(labelled_sentences, alpha=2.0, beta=1.0, drop_mult=0.0)
    capture = _Capture()
    batch = next(iter(learn.dls.train))
    expected = _expected_penalty(learn, batch, alpha=2.0, beta=1.0)
    learn.model.reset()
    learn.fit(1, 1e-3, cbs=[capture, _StopAfterOne(batch)])
    assert capture.total[0] - capture.task[0] == pytest.approx(expected, rel=1e-4)
    assert expected > 0
    # the recorded loss is the task's alone
    assert learn.recorder.losses[0] == pytest.approx(capture.task[0])


class _StopAfterOne(Callback):
    """Feeds one fixed batch, then ends the fit (no validation)."""

    order = 100  # after the recorder has logged the batch

    def __init__(self, batch) -> None:
        self.batch = batch

    def before_batch(self) -> None:
        self.learn.xb, self.learn.yb = (self.batch[0],), (self.batch[1],)

    def after_batch(self) -> None:
        from lamina.train.callback import CancelFit

        raise CancelFit


def test_alpha_and_beta_zero_leave_the_loss_alone(labelled_sentences) -> None:
    learn = _lm_learner(labelled_sentences, alpha=0.0, beta=0.0)
    capture = _Capture()
    learn.fit(1, 1e-3, cbs=[capture, _StopAfterOne(next(iter(learn.dls.train)))])
    assert capture.total[0] == capture.task[0]


def test_hooks_are_gone_after_fit_and_validation_is_untouched(labelled_sentences) -> None:
    learn = _lm_learner(labelled_sentences)
    assert any(isinstance(cb, RNNRegularizer) for cb in learn.cbs)
    learn.fit(1, 1e-3)
    assert not learn.model.encoder._forward_hooks
    assert not learn.model.output_dropout._forward_hooks
    loss_before = learn.validate()[0]
    assert learn.validate()[0] == pytest.approx(loss_before)


def test_the_classifier_penalises_its_encoder_outputs(labelled_sentences) -> None:
    dls = TextDataLoaders.from_df(labelled_sentences, text_col="text", label_col="label", seed=0,
                                  bs=8, min_freq=1, device="cpu")  # fmt: skip
    learn = text_classifier_learner(dls, "awd_lstm", config=SMALL)
    learn.progress.silent = True
    learn.freeze()
    batch = next(iter(dls.train))
    frozen, unfrozen = _Capture(), _Capture()
    # frozen, the encoder's outputs carry no gradient: a penalty would change nothing
    learn.fit(1, 1e-3, cbs=[frozen, _StopAfterOne(batch)])
    assert frozen.total[0] == frozen.task[0]
    learn.unfreeze()
    learn.fit(1, 1e-3, cbs=[unfrozen, _StopAfterOne(batch)])
    assert unfrozen.total[0] > unfrozen.task[0]


def test_text_learners_use_ulmfit_momentum(labelled_sentences) -> None:
    learn = _lm_learner(labelled_sentences)
    assert learn.moms == (0.8, 0.7, 0.8)
    learn.fit_one_cycle(1, 1e-3)
    assert min(learn.recorder.hps["mom"]) == pytest.approx(0.7)


def test_transformers_get_no_rnn_regularizer(labelled_sentences) -> None:
    dls = TextDataLoaders.from_df(labelled_sentences, text_col="text", is_lm=True, seed=0, bs=4,
                                  seq_len=12, min_freq=1, device="cpu")  # fmt: skip
    learn = language_model_learner(dls, "transformer", config={"d_model": 16, "n_layers": 1,
                                                                "n_heads": 2})  # fmt: skip
    assert not any(isinstance(cb, RNNRegularizer) for cb in learn.cbs)


@pytest.mark.parametrize("bad", [-1.0, "2", True])
def test_bad_weights_are_refused(bad) -> None:
    with pytest.raises(ValueError, match="non-negative"):
        RNNRegularizer(alpha=bad)
