"""`load_learner`'s fastai-style `cpu=` argument."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import lamina.inference
from lamina import load_learner

EXPORT = Path(__file__).parent / "fixtures" / "exports_0_1" / "collab.lamina"


def test_cpu_true_loads_on_the_cpu() -> None:
    learn = load_learner(EXPORT, cpu=True)
    assert torch.device(learn.dls.device).type == "cpu"
    assert learn.predict([2], [22]).shape == (1,)


def test_cpu_false_picks_the_best_device(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = []

    def best() -> torch.device:
        asked.append(True)
        return torch.device("cpu")  # stands in for CUDA on a machine without one

    monkeypatch.setattr(lamina.inference, "default_device", best)
    learn = load_learner(EXPORT, cpu=False)
    assert asked == [True]
    assert torch.device(learn.dls.device).type == "cpu"


def test_device_and_cpu_together_are_refused() -> None:
    with pytest.raises(ValueError, match=r"got both device='cpu' and cpu=True: give one"):
        load_learner(EXPORT, device="cpu", cpu=True)


def test_cpu_must_be_a_bool() -> None:
    with pytest.raises(ValueError, match="cpu must be True or False, got 'yes'"):
        load_learner(EXPORT, cpu="yes")  # type: ignore[arg-type]
