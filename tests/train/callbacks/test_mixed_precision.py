"""MixedPrecision: autocast around forward and loss only, loss scaling for float16."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

from lamina import Callback, Learner
from lamina.testing import synth_classification, tiny_learner
from lamina.train.callbacks import GradientAccumulation, GradientClip, MixedPrecision


class Probe(Callback):
    """Records the prediction dtype and whether autocast is on at each point of a batch."""

    def __init__(self, order: int = 45) -> None:  # by default after MixedPrecision (40)
        self.order = order
        self.pred_dtypes: set[torch.dtype] = set()
        self.on_after_pred: set[bool] = set()
        self.on_after_loss: set[bool] = set()

    def after_pred(self) -> None:
        self.pred_dtypes.add(self.learn.pred.dtype)
        self.on_after_pred.add(torch.is_autocast_enabled("cpu"))

    def after_loss(self) -> None:
        self.on_after_loss.add(torch.is_autocast_enabled("cpu"))


def _linear_learner(*cbs: Callback) -> Learner:
    dls = synth_classification(n_train=256, n_valid=64, device="cpu")
    learn = Learner(dls, nn.Linear(8, 3), loss_func=nn.CrossEntropyLoss(), lr=0.05, cbs=list(cbs))
    learn.progress.silent = True
    return learn


def test_bf16_autocast_is_active_only_inside_forward_and_loss() -> None:
    probe, early = Probe(), Probe(order=35)
    learn = _linear_learner(MixedPrecision(), probe, early)
    before = learn.validate()[0]
    learn.fit(3)
    assert early.pred_dtypes == {torch.bfloat16}  # what the model returned under autocast
    assert probe.pred_dtypes == {torch.float32}  # what the loss, metrics and get_preds see
    assert probe.on_after_pred == {True}
    assert probe.on_after_loss == {False}
    assert not torch.is_autocast_enabled("cpu")
    assert learn.mixed_precision.scaler is None  # bfloat16 needs no loss scaling
    assert learn.recorder.values[-1][1] < 0.5 * before


def test_fp16_scaler_scales_the_loss_and_steps() -> None:
    class ScaleProbe(Callback):
        order = 35  # between the backward pass and MixedPrecision's step (40)

        def before_step(self) -> None:
            scale = self.learn.mixed_precision.scaler.get_scale()
            ratio = (self.learn.loss_grad / self.learn.loss).item()
            self.ratios.append(ratio / scale)

    probe = ScaleProbe()
    probe.ratios = []
    learn = _linear_learner(MixedPrecision("fp16", cpu_float16=True), probe)
    before = learn.validate()[0]
    learn.fit(3)
    assert learn.mixed_precision.scaler is not None
    assert probe.ratios == pytest.approx([1.0] * len(probe.ratios), rel=1e-2)
    assert learn.recorder.values[-1][1] < 0.5 * before


def test_fp16_scaler_skips_a_step_whose_gradients_overflow() -> None:
    class Overflow(Callback):
        order = 35

        def before_step(self) -> None:
            if self.learn.train_iter == 0:
                next(self.learn.model.parameters()).grad[0, 0] = float("inf")

        def after_step(self) -> None:
            if self.learn.train_iter == 0:
                self.weights = [p.detach().clone() for p in self.learn.model.parameters()]

    overflow = Overflow()
    learn = _linear_learner(MixedPrecision(torch.float16, cpu_float16=True), overflow)
    learn.dls.train.bs = 256  # one batch per epoch
    learn._prepare()
    start = [p.detach().clone() for p in learn.model.parameters()]
    learn.fit(1)
    for weight, initial in zip(overflow.weights, start, strict=True):
        torch.testing.assert_close(weight, initial)
    assert learn.mixed_precision.scaler.get_scale() == 2.0**16 * 0.5


def test_autocast_is_left_when_a_batch_fails() -> None:
    class Boom(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = nn.Linear(8, 3)
            self.fail = True

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if self.fail:
                raise RuntimeError("boom")
            return self.linear(x)

    dls = synth_classification(device="cpu")
    learn = Learner(dls, Boom(), loss_func=nn.CrossEntropyLoss(), cbs=MixedPrecision())
    learn.progress.silent = True
    try:
        with pytest.raises(RuntimeError, match="boom"):
            learn.fit(1)
        learn.model.fail = False
        learn.validate()  # the next phase leaves any autocast a failed batch left entered
        assert not torch.is_autocast_enabled("cpu")
    finally:
        torch.set_autocast_enabled("cpu", False)


def test_state_round_trips_the_loss_scale() -> None:
    learn = _linear_learner(MixedPrecision("float16", cpu_float16=True))
    learn.fit(1)
    state = learn.mixed_precision.state_dict()
    assert state["scale"] == learn.mixed_precision.scaler.get_scale()
    fresh = MixedPrecision("float16", cpu_float16=True)
    fresh.load_state_dict({**state, "scale": 1024.0})
    other = _linear_learner(fresh)
    other.fit(1)
    assert other.mixed_precision.scaler.get_scale() == 1024.0  # loaded, not the default 2**16


def test_fp16_steps_only_when_accumulation_and_clipping_allow() -> None:
    learn = _linear_learner(
        MixedPrecision("fp16", cpu_float16=True), GradientAccumulation(n_steps=2), GradientClip(0.1)
    )
    learn.fit(1)  # 8 batches: 4 real steps, each unscaled, clipped, then stepped by the scaler
    scaler = learn.mixed_precision.scaler
    assert scaler.state_dict()["_growth_tracker"] == 4
    assert float(learn.gradient_clip.norm) < 1e3  # clipped the unscaled gradients
    assert learn.recorder.values[-1][1] < learn.recorder.losses[0]


def test_to_fp16_on_the_cpu_warns_once_and_trains_under_bfloat16() -> None:
    early = Probe(order=35)  # sees the model's output as autocast left it
    learn = _linear_learner(early).to_fp16()
    with pytest.warns(UserWarning, match="float16 autocast on the CPU is tens of times slower"):
        before = learn.validate()[0]
    learn.fit(2)
    assert learn.mixed_precision.active_dtype == torch.bfloat16
    assert early.pred_dtypes == {torch.bfloat16}
    assert learn.mixed_precision.scaler is None  # no float16 loss scaling either
    assert learn.recorder.values[-1][1] < 0.5 * before  # it still trains
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        learn.fit(1)  # once: the second fit is quiet


@pytest.mark.gpu
def test_to_fp16_on_cuda_keeps_float16_without_a_warning() -> None:
    learn = tiny_learner(classification=True)
    learn.dls = synth_classification(device="cuda")
    learn.to_fp16()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        learn.fit(1, lr=1e-2)
    assert learn.mixed_precision.active_dtype == torch.float16
    assert learn.mixed_precision.scaler is not None


def test_cpu_float16_opt_in_keeps_float16() -> None:
    early = Probe(order=35)
    learn = _linear_learner(MixedPrecision("float16", cpu_float16=True), early)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        learn.fit(1)
    assert learn.mixed_precision.active_dtype == torch.float16
    assert early.pred_dtypes == {torch.float16}


def test_precision_float16_on_the_cpu_falls_back_too() -> None:
    dls = synth_classification(n_train=64, n_valid=32, device="cpu")
    learn = Learner(dls, nn.Linear(8, 3), precision="float16")
    learn.progress.silent = True
    with pytest.warns(UserWarning, match="training under bfloat16 autocast instead"):
        learn.fit(1)
    assert learn.mixed_precision.active_dtype == torch.bfloat16


@pytest.mark.parametrize("dtype", ["float32", torch.float32, 16])
def test_rejects_unsupported_dtypes(dtype: object) -> None:
    with pytest.raises(ValueError, match=r"dtype must be .*got"):
        MixedPrecision(dtype)


@pytest.mark.gpu
def test_fp16_with_scaler_on_cuda() -> None:
    learn = tiny_learner(classification=True)
    learn.dls = synth_classification(device="cuda")
    learn.add_cbs([MixedPrecision()])
    learn.fit(2, lr=1e-2)
    assert learn.mixed_precision.scaler is not None
    assert learn.mixed_precision.scaler.get_scale() > 0
    assert learn.recorder.values[-1][1] < learn.recorder.values[0][0]
    assert not torch.is_autocast_enabled("cuda")


def test_precision_auto_is_float32_on_the_cpu_and_names_force_a_dtype() -> None:
    assert not _linear_learner()._mixed_precision()
    dls = synth_classification(n_train=64, n_valid=32, device="cpu")
    learn = Learner(dls, nn.Linear(8, 3), precision="bf16")
    assert [cb.dtype for cb in learn._mixed_precision()] == [torch.bfloat16]
    explicit = MixedPrecision("fp16")
    learn = Learner(dls, nn.Linear(8, 3), precision="bfloat16", cbs=[explicit])
    assert learn._mixed_precision() == [explicit]  # the user's callback wins
    assert not Learner(dls, nn.Linear(8, 3), precision="float32")._mixed_precision()
    with pytest.raises(ValueError, match="precision must be one of"):
        Learner(dls, nn.Linear(8, 3), precision="half-ish")


def test_precision_auto_on_cuda_prefers_bfloat16(monkeypatch) -> None:
    from lamina.train.callbacks import resolve_precision

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: True)
    assert resolve_precision("auto", "cuda") == torch.bfloat16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: False)
    assert resolve_precision("auto", "cuda:0") == torch.float16
    assert resolve_precision("auto", "cpu") is None
    assert resolve_precision("fp16", "cpu") == torch.float16


def test_to_fp16_to_bf16_to_fp32_switch_and_predictions_stay_float32() -> None:
    learn = _linear_learner()
    assert learn.to_bf16() is learn
    assert [cb.dtype for cb in learn._mixed_precision()] == [torch.bfloat16]
    learn.fit(1)
    preds, _ = learn.get_preds()
    assert preds.dtype == torch.float32
    preds.numpy()  # NumPy has no bfloat16: this would raise on raw autocast output
    learn.to_fp16()
    assert [cb.dtype for cb in learn._mixed_precision()] == [torch.float16]
    learn.to_fp32()
    assert not learn._mixed_precision()


@pytest.mark.gpu
def test_default_learner_trains_under_bf16_autocast_on_cuda() -> None:
    probe = Probe(order=35)
    dls = synth_classification(n_train=256, n_valid=64, device="cuda")
    learn = Learner(dls, nn.Linear(8, 3).cuda(), lr=0.05, cbs=[probe])
    learn.progress.silent = True
    learn.fit(3)
    assert probe.pred_dtypes == {torch.bfloat16}
    assert learn.mixed_precision.scaler is None
    assert learn.recorder.values[-1][1] < learn.recorder.values[0][0]
