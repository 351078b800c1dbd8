"""SaveModel: which epochs are saved, and loading the best back at the end."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from lamina import Callback
from lamina.train.callbacks import EarlyStopping, SaveModel

from .scripted import ScriptedColumn, small_learner

VALUES = [1.0, 0.8, 0.9, 0.7, 0.75]


def _record_saves(learn, monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str, bool]]:
    calls = []
    monkeypatch.setattr(
        learn, "save", lambda name, with_opt=True: calls.append((learn.epoch, name, with_opt))
    )
    return calls


def test_saves_only_improving_epochs(monkeypatch: pytest.MonkeyPatch) -> None:
    learn = small_learner(
        cbs=[ScriptedColumn(VALUES), SaveModel(name="best", with_opt=False, at_end=False)]
    )
    # (save is replaced: there is nothing to load back at the end)
    calls = _record_saves(learn, monkeypatch)
    learn.fit(5)
    assert calls == [(0, "best", False), (1, "best", False), (3, "best", False)]


def test_saves_every_epoch_under_numbered_names(monkeypatch: pytest.MonkeyPatch) -> None:
    save = SaveModel(every_epoch=True, at_end=False)  # save is replaced: nothing to load
    learn = small_learner(cbs=[ScriptedColumn(VALUES), save])
    calls = _record_saves(learn, monkeypatch)
    learn.fit(5)
    assert [name for _, name, _ in calls] == [f"model_{epoch}" for epoch in range(5)]
    assert save.best_name() == "model_3"


class WeightLog(Callback):
    order = 90

    def __init__(self) -> None:
        self.weights: list[dict[str, torch.Tensor]] = []

    def after_epoch(self) -> None:
        state = self.learn.model.state_dict()
        self.weights.append({key: value.clone() for key, value in state.items()})


@pytest.mark.parametrize("every_epoch", [False, True])
def test_at_end_loads_the_best_weights_back(tmp_path: Path, every_epoch: bool) -> None:
    pytest.importorskip("lamina.train.checkpoint")
    log = WeightLog()
    save = SaveModel(every_epoch=every_epoch, at_end=True)
    learn = small_learner(path=tmp_path, cbs=[ScriptedColumn(VALUES), save, log])
    learn.fit(5, lr=0.05)
    best = "model_3" if every_epoch else "model"
    assert (tmp_path / "models" / f"{best}.safetensors").is_file()
    for key, value in learn.model.state_dict().items():
        torch.testing.assert_close(value, log.weights[3][key])
        assert not torch.equal(value, log.weights[4][key])
    # the rest of the learner keeps the end of training: full history, position
    assert len(learn.recorder.values) == 5
    assert learn.epochs_done == 5
    assert save.best_epoch == 3


def test_at_end_after_early_stopping(tmp_path: Path) -> None:
    pytest.importorskip("lamina.train.checkpoint")
    log = WeightLog()
    cbs = [ScriptedColumn([1.0, 0.5, 0.6, 0.7, 0.1]), SaveModel(at_end=True), EarlyStopping(), log]
    learn = small_learner(path=tmp_path, cbs=cbs)
    learn.fit(5, lr=0.05)
    assert len(learn.recorder.values) == 3  # stopped after epoch 2
    for key, value in learn.model.state_dict().items():
        torch.testing.assert_close(value, log.weights[1][key])


def test_rejects_bad_names() -> None:
    with pytest.raises(ValueError, match="name must be a non-empty file name without '/', got"):
        SaveModel(name="runs/best")


def test_default_ends_on_the_best_epoch_not_a_diverged_last_one(tmp_path: Path) -> None:
    # A fastai port: SaveModelCallback(monitor=..., fname="best") ends on the best weights.
    log = WeightLog()
    cbs = [ScriptedColumn([1.31, 1.5, 3172.0]), SaveModel(name="best"), log]
    learn = small_learner(path=tmp_path, cbs=cbs)
    learn.fit(3, lr=0.05)
    for key, value in learn.model.state_dict().items():
        torch.testing.assert_close(value, log.weights[0][key])
        assert not torch.equal(value, log.weights[2][key])


def test_at_end_false_keeps_the_last_epoch(tmp_path: Path) -> None:
    log = WeightLog()
    cbs = [ScriptedColumn([1.31, 1.5, 3172.0]), SaveModel(at_end=False), log]
    learn = small_learner(path=tmp_path, cbs=cbs)
    learn.fit(3, lr=0.05)
    for key, value in learn.model.state_dict().items():
        assert torch.equal(value, log.weights[2][key])
    assert (tmp_path / "models" / "model.safetensors").is_file()  # the best stays on disk


class CrashAt(Callback):
    """Raises (as a crash would) at training batch `step` of the whole fit."""

    def __init__(self, step: int) -> None:
        self.step = step

    def before_batch(self) -> None:
        if self.learn.training and self.learn.train_iter == self.step:
            raise RuntimeError("simulated crash")


def test_resumed_fit_still_ends_on_the_best_epoch_saved_before_the_crash(tmp_path: Path) -> None:
    values = [1.0, 0.5, 0.9, 0.95]  # best: epoch 1, before the crash in epoch 2
    log = WeightLog()
    learn = small_learner(path=tmp_path, cbs=[ScriptedColumn(values), log])
    n_batches = len(learn.dls.train)
    with pytest.raises(RuntimeError, match="simulated crash"):
        learn.fit(4, lr=0.05, cbs=[SaveModel(every_steps=1), CrashAt(2 * n_batches + 1)])
    # Among the learner's callbacks, SaveModel gets its state (best epoch, saved files) back.
    save = SaveModel(every_steps=1)
    resumed = small_learner(path=tmp_path, cbs=[ScriptedColumn(values), save])
    resumed.load("model_last")
    resumed.fit(4, lr=0.05, resume=True)
    assert save.best_epoch == 1
    for key, value in resumed.model.state_dict().items():
        torch.testing.assert_close(value, log.weights[1][key])

    # Passed to fit only, it cannot know the best before the crash: it says so.
    late = small_learner(path=tmp_path, cbs=[ScriptedColumn(values)])
    late.load("model_last")
    with pytest.warns(UserWarning, match=r"Pass it to Learner\(cbs=...\) before"):
        late.fit(4, lr=0.05, cbs=[SaveModel(name="late")], resume=True)
