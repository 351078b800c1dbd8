"""The training loop: event order, cancellation, clear errors, interruption, inspection."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lamina import (
    Callback,
    CancelBackward,
    CancelBatch,
    CancelEpoch,
    CancelFit,
    CancelStep,
    CancelTrain,
    CancelValidate,
    DataLoaders,
    Learner,
)
from lamina.testing import RegModel, synth_regression, tiny_learner

BATCH_EVENTS = ["before_batch", "after_pred", "after_loss", "before_backward", "after_backward",
                "before_step", "after_step", "after_batch"]  # fmt: skip


class EventLog(Callback):
    """Records every event name it sees."""

    def __init__(self) -> None:
        self.events: list[str] = []

    def _log(self, name: str) -> None:
        self.events.append(name)


for _event in [
    "before_fit", "before_epoch", "before_train", "before_batch", "after_pred", "after_loss",
    "before_backward", "after_backward", "before_step", "after_step", "after_batch", "after_train",
    "before_validate", "after_validate", "after_epoch", "after_fit", "after_cancel_fit",
    "after_cancel_epoch", "after_cancel_train", "after_cancel_validate", "after_cancel_batch",
    "after_cancel_backward", "after_cancel_step",
]:  # fmt: skip
    setattr(EventLog, _event, lambda self, _name=_event: self._log(_name))


def one_batch_learner(cbs=None) -> Learner:
    x, y = torch.randn(4, 1), torch.randn(4, 1)
    dls = DataLoaders.from_tensors((x, y), (x, y), bs=4, device="cpu")
    learn = Learner(dls, RegModel(), loss_func=nn.MSELoss(), cbs=cbs)
    learn.progress.silent = True
    return learn


def test_events_run_in_documented_order() -> None:
    log = EventLog()
    one_batch_learner([log]).fit(1)
    expected = (["before_fit", "before_epoch", "before_train"] + BATCH_EVENTS
                + ["after_train", "before_validate", "before_batch", "after_pred", "after_loss",
                   "after_batch", "after_validate", "after_epoch", "after_fit"])  # fmt: skip
    assert log.events == expected


@pytest.mark.parametrize(
    ("exception", "event", "skipped", "cancel_event"),
    [
        (CancelStep, "before_step", [], "after_cancel_step"),
        (CancelBackward, "before_backward", [], "after_cancel_backward"),
        (CancelBatch, "after_pred", ["after_loss", "before_backward"], "after_cancel_batch"),
        (CancelTrain, "before_train", ["before_batch"], "after_cancel_train"),
        (CancelValidate, "before_validate", ["after_pred"], "after_cancel_validate"),
        (CancelEpoch, "before_train", ["before_validate"], "after_cancel_epoch"),
        (CancelFit, "before_fit", ["before_epoch"], "after_cancel_fit"),
    ],
)  # fmt: skip
def test_cancellation_skips_the_phase_then_runs_its_cancel_and_after_events(
    exception: type[Exception], event: str, skipped: list[str], cancel_event: str
) -> None:
    class Canceller(Callback):
        order = 1  # after EventLog, so the raising event is logged

    setattr(Canceller, event, lambda self: (_ for _ in ()).throw(exception()))
    log = EventLog()
    one_batch_learner([Canceller(), log]).fit(1)
    # From the raising event to the phase's after event: the cancel event, then the after event.
    start = log.events.index(event)
    after = cancel_event.replace("after_cancel_", "after_")
    window = log.events[start : log.events.index(after, start) + 1]
    for name in skipped:
        assert name not in window
    assert window[-2:] == [cancel_event, after]
    assert log.events[-1] == "after_fit"


def test_cancel_step_keeps_weights() -> None:
    class NoStep(Callback):
        def before_step(self) -> None:
            raise CancelStep

    learn = one_batch_learner([NoStep()])
    before = [p.detach().clone() for p in learn.model.parameters()]
    learn.fit(2, lr=0.1)
    assert all(torch.equal(a, b) for a, b in zip(before, learn.model.parameters(), strict=True))


def test_callbacks_read_and_change_learner_state() -> None:
    class DoubleTargets(Callback):
        def before_batch(self) -> None:
            self.learn.yb = (self.learn.yb[0] * 0,)

    learn = tiny_learner(lr=0.1, cbs=[DoubleTargets()])
    learn.fit(3)
    # Trained on zero targets, the model predicts zero everywhere.
    assert learn.model.a.abs().item() < 0.1
    assert learn.model.b.abs().item() < 0.1


def test_training_reduces_validation_loss() -> None:
    learn = tiny_learner(lr=0.1)
    before = learn.validate()[0]
    learn.fit(3)
    after = learn.validate()[0]
    assert after < before / 20
    assert learn.model.a.item() == pytest.approx(2, abs=0.2)


def test_bring_your_own_torch_dataloader() -> None:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(200, 1, generator=generator)
    ds = TensorDataset(x, 2 * x + 3)
    dls = DataLoaders(DataLoader(ds, batch_size=20, shuffle=True), DataLoader(ds, batch_size=50),
                      device="cpu")  # fmt: skip
    learn = Learner(dls, RegModel(), loss_func=nn.MSELoss(), lr=0.1)
    learn.progress.silent = True
    learn.fit(4)
    assert learn.validate()[0] < 0.05


def test_loss_is_inferred_from_target_dtype() -> None:
    learn = Learner(synth_regression(), RegModel())
    learn.progress.silent = True
    learn.fit(1)
    assert isinstance(learn.loss_func, nn.MSELoss)


def test_shape_mismatch_names_the_loss_and_shapes() -> None:
    x, y = torch.randn(8, 1), torch.randn(8, 3)
    dls = DataLoaders.from_tensors((x, y), (x, y), bs=4, device="cpu")
    learn = Learner(dls, RegModel(), loss_func=nn.MSELoss())
    learn.progress.silent = True
    with pytest.raises(ValueError, match=r"MSELoss.*\(4, 1\).*\(4, 3\)"):
        learn.fit(1)


def test_wrong_target_dtype_is_named() -> None:
    x, y = torch.randn(8, 3), torch.rand(8)
    dls = DataLoaders.from_tensors((x, y), (x, y), bs=4, device="cpu")
    learn = Learner(dls, nn.Linear(3, 3), loss_func=nn.CrossEntropyLoss())
    learn.progress.silent = True
    with pytest.raises(ValueError, match=r"CrossEntropyLoss.*torch.float32"):
        learn.fit(1)


def test_empty_dataloader_is_an_error() -> None:
    empty = DataLoader(TensorDataset(torch.empty(0, 1), torch.empty(0, 1)), batch_size=4)
    learn = Learner(DataLoaders(empty, empty, device="cpu"), RegModel(), loss_func=nn.MSELoss())
    with pytest.raises(ValueError, match="train DataLoader is empty"):
        learn.fit(1)


@pytest.mark.parametrize("lr", [0, -1e-3, float("nan")])
def test_non_positive_lr_is_rejected(lr: float) -> None:
    with pytest.raises(ValueError, match="lr"):
        Learner(synth_regression(), RegModel(), lr=lr)
    learn = tiny_learner()
    with pytest.raises(ValueError, match="learning rates must be positive"):
        learn.fit(1, lr=lr)


def test_unknown_metric_is_named() -> None:
    with pytest.raises(ValueError, match="unknown metric 'acuracy'"):
        Learner(synth_regression(), RegModel(), metrics="acuracy")
    with pytest.raises(ValueError, match="is not a Metric"):
        Learner(synth_regression(), RegModel(), metrics=42)


def test_error_in_callback_names_callback_and_event() -> None:
    class Broken(Callback):
        def after_loss(self) -> None:
            raise KeyError("oops")

    learn = tiny_learner(cbs=[Broken()])
    with pytest.raises(KeyError) as info:
        learn.fit(1)
    assert "raised in callback Broken during after_loss" in " ".join(info.value.__notes__)


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)])
def test_nan_loss_stops_and_keeps_last_finite_weights(device: str) -> None:
    class PoisonThirdBatch(Callback):
        order = -20

        def after_loss(self) -> None:
            if self.learn.training and self.learn.train_iter == 2:
                self.learn.loss = self.learn.loss * math.nan
            if self.learn.training and self.learn.train_iter == 1:
                self.weights = [p.detach().clone() for p in self.learn.model.parameters()]

        def after_step(self) -> None:
            if self.learn.train_iter == 1:
                self.weights = [p.detach().clone() for p in self.learn.model.parameters()]

    poison = PoisonThirdBatch()
    learn = tiny_learner(lr=0.1, cbs=[poison])
    if device == "cuda":
        learn.dls = synth_regression(device="cuda")
    with pytest.raises(FloatingPointError, match="epoch 0, batch 2"):
        learn.fit(2)
    for kept, now in zip(poison.weights, learn.model.parameters(), strict=True):
        assert torch.isfinite(now).all()
        assert torch.equal(kept, now)


def test_keyboard_interrupt_leaves_learner_usable() -> None:
    class Interrupt(Callback):
        order = 100

        def after_batch(self) -> None:
            if self.learn.training and self.learn.epoch == 1 and self.learn.iter == 3:
                raise KeyboardInterrupt

    interrupt = Interrupt()
    learn = tiny_learner(lr=0.1, cbs=[interrupt])
    with pytest.raises(KeyboardInterrupt):
        learn.fit(3)
    assert len(learn.recorder.values) == 1  # the finished epoch is kept
    assert len(learn.recorder.losses) == 16  # the interrupted epoch's batches are dropped
    assert (learn.epochs_done, learn.batches_done) == (1, 4)
    learn.remove_cbs([interrupt])
    learn.fit(2)
    assert len(learn.recorder.values) == 2
    assert learn.training is False
    assert learn.in_fit is False


def test_temporary_callbacks_are_removed_after_fit() -> None:
    log = EventLog()
    learn = tiny_learner()
    learn.fit(1, cbs=[log])
    assert log not in learn.cbs
    assert not hasattr(learn, "event_log")


def test_get_preds_returns_probabilities_targets_inputs_and_losses() -> None:
    learn = tiny_learner(classification=True, lr=1e-2)
    learn.fit(1)
    inputs, preds, targs, losses = learn.get_preds(
        with_input=True, with_loss=True
    )  # fastai's order
    assert preds.shape == (128, 3)
    assert targs.shape == (128,)
    assert inputs.shape == (128, 8)
    assert torch.allclose(preds.sum(dim=1), torch.ones(128))
    expected = nn.functional.cross_entropy(learn.model.eval()(inputs), targs, reduction="none")
    assert torch.allclose(losses, expected, atol=1e-5)
    assert learn.validate()[0] == pytest.approx(losses.mean().item(), rel=1e-5)


def test_summary_lists_layers_shapes_and_trainable_counts() -> None:
    learn = tiny_learner(classification=True)
    learn.freeze()
    text = learn.summary()
    assert "Linear" in text
    assert "(32, 16)" in text
    assert "(32, 3)" in text
    assert "total params: 227" in text
    # Frozen body Linear (8*16+16 = 144) is not trainable; its BatchNorm (32) stays trainable.
    assert "trainable params: 83" in text


def test_show_training_loop_names_callbacks_per_event() -> None:
    text = tiny_learner().show_training_loop()
    lines = dict(line.split(maxsplit=1) for line in text.splitlines())
    assert "TerminateOnNaN" in lines["after_loss"]
    assert "Recorder" in lines["after_batch"]


def test_one_batch_runs_a_training_step() -> None:
    learn = tiny_learner(lr=0.1)
    before = learn.model.b.item()
    loss = learn.one_batch()
    assert loss is not None
    assert learn.model.b.item() != before


def test_metrics_by_registered_name() -> None:
    learn = tiny_learner(classification=True, metrics=["accuracy", "error_rate"])
    assert [metric.name for metric in learn.metrics] == ["accuracy", "error_rate"]
    learn.fit(1, lr=1e-2)
    assert 0 <= learn.validate()[1] <= 1


def test_opt_func_may_name_a_registered_optimizer() -> None:
    learn = tiny_learner(opt_func="sgd")
    learn.fit(1, 1e-2)
    assert type(learn.opt).__name__ == "SGD"
    with pytest.raises(ValueError, match="registered optimizer names: .*adamw"):
        tiny_learner(opt_func="adamm")
