"""Checkpoints: safe files, exact round trips, and resuming a schedule exactly."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
import torch

from lamina import Callback, CancelFit, set_seed
from lamina.testing import tiny_learner


def _learner(tmp_path: Path, seed: int = 0):
    set_seed(seed)
    return tiny_learner(classification=True, path=tmp_path)


class SaveThenStop(Callback):
    """Saves a checkpoint after epoch `at` and stops, as an interrupted run would."""

    order = 100

    def __init__(self, at: int) -> None:
        self.at = at

    def after_epoch(self) -> None:
        if self.learn.epoch == self.at:
            self.learn.save("half")
            raise CancelFit


def test_resume_equals_training_straight_through(tmp_path: Path) -> None:
    straight = _learner(tmp_path)
    straight.fit_one_cycle(4, 1e-2)

    interrupted = _learner(tmp_path)
    interrupted.fit_one_cycle(4, 1e-2, cbs=[SaveThenStop(at=1)])

    resumed = _learner(tmp_path, seed=123)  # different init and RNG: the checkpoint restores both
    resumed.load("half")
    assert resumed.epochs_done == 2
    resumed.fit_one_cycle(4, 1e-2, start_epoch=resumed.epochs_done)

    for expected, got in zip(straight.model.state_dict().values(),
                             resumed.model.state_dict().values(), strict=True):  # fmt: skip
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    assert len(resumed.recorder.values) == 4
    assert resumed.recorder.values[-1][:2] == pytest.approx(straight.recorder.values[-1][:2])


def test_round_trip_restores_model_optimizer_and_callbacks(tmp_path: Path) -> None:
    learn = _learner(tmp_path)
    learn.fit(2, lr=1e-2)
    path = learn.save("done")
    assert path == tmp_path / "models" / "done.safetensors"

    other = _learner(tmp_path, seed=5)
    other.load("done")
    for a, b in zip(learn.model.state_dict().values(), other.model.state_dict().values(),
                    strict=True):  # fmt: skip
        assert torch.equal(a, b)
    saved, loaded = learn.opt.state_dict(), other.opt.state_dict()
    assert saved["param_groups"] == loaded["param_groups"]
    for index, state in saved["state"].items():
        for key, value in state.items():
            assert torch.equal(torch.as_tensor(value), torch.as_tensor(loaded["state"][index][key]))
    assert other.recorder.values == learn.recorder.values


def test_checkpoint_is_safetensors_and_json_only(tmp_path: Path, monkeypatch) -> None:
    learn = _learner(tmp_path)
    learn.fit(1)
    path = learn.save("ckpt")
    header_len = int.from_bytes(path.read_bytes()[:8], "little")
    header = json.loads(path.read_bytes()[8 : 8 + header_len])
    assert json.loads(header["__metadata__"]["lamina"])["format"] == "lamina-checkpoint"

    def forbidden(*args, **kwargs):
        raise AssertionError("pickle must never be used to load a checkpoint")

    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(pickle, "Unpickler", forbidden)
    monkeypatch.setattr(torch, "load", forbidden)
    _learner(tmp_path).load("ckpt")


def test_save_is_atomic_when_interrupted(tmp_path: Path, monkeypatch) -> None:
    learn = _learner(tmp_path)
    learn.fit(1)
    first = learn.save("ckpt").read_bytes()

    from lamina.core import files

    def crash(path):  # the new data is in the temporary; interrupted before the rename
        raise KeyboardInterrupt

    monkeypatch.setattr(files, "fsync_path", crash)
    with pytest.raises(KeyboardInterrupt):
        learn.save("ckpt")
    assert (tmp_path / "models" / "ckpt.safetensors").read_bytes() == first
    assert [p.name for p in (tmp_path / "models").iterdir()] == ["ckpt.safetensors"]


def test_loading_into_a_different_model_names_the_mismatch(tmp_path: Path) -> None:
    learn = _learner(tmp_path)
    learn.save("ckpt")
    other = tiny_learner(path=tmp_path)  # the regression model: different parameters
    with pytest.raises(ValueError, match="does not fit this model"):
        other.load("ckpt")


def test_corrupt_file_gives_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "models" / "bad.safetensors"
    bad.parent.mkdir()
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    with pytest.raises(ValueError, match="not a valid lamina/safetensors file"):
        _learner(tmp_path).load("bad")
    with pytest.raises(FileNotFoundError, match="missing"):
        _learner(tmp_path).load("missing")
