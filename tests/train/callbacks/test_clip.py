"""GradientClip: the global gradient norm is at most max_norm when the optimizer steps."""

from __future__ import annotations

import math

import pytest
import torch

from lamina import Callback
from lamina.train.callbacks import GradientClip, MixedPrecision

from .scripted import small_learner


class NormProbe(Callback):
    """Reads the global gradient norm just before the optimizer steps (after the clip)."""

    order = 35  # after GradientClip (30), before MixedPrecision's step (40)

    def __init__(self, norm_type: float = 2.0) -> None:
        self.norm_type, self.norms = norm_type, []

    def before_step(self) -> None:
        grads = [p.grad for p in self.learn.model.parameters() if p.grad is not None]
        norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g, self.norm_type)
                                                     for g in grads]), self.norm_type)  # fmt: skip
        self.norms.append(float(norm))


@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf])
def test_global_norm_is_at_most_max_norm(norm_type: float) -> None:
    clip, probe = GradientClip(max_norm=0.05, norm_type=norm_type), NormProbe(norm_type)
    learn = small_learner(classification=True, cbs=[clip, probe])
    learn.fit(1, lr=1e-2)
    assert max(probe.norms) <= 0.05 * (1 + 1e-4)
    assert float(clip.norm) > 0.05  # the raw gradients were larger: clipping did something


def test_small_gradients_are_left_alone() -> None:
    clip, probe = GradientClip(max_norm=1e6), NormProbe()
    learn = small_learner(classification=True, cbs=[clip, probe])
    learn.fit(1, lr=1e-2)
    assert probe.norms[-1] == pytest.approx(float(clip.norm), rel=1e-5)


def test_unscales_float16_gradients_before_clipping() -> None:
    clip, probe = GradientClip(max_norm=0.05), NormProbe()
    learn = small_learner(
        classification=True, cbs=[MixedPrecision("fp16", cpu_float16=True), clip, probe]
    )
    learn.fit(1, lr=1e-2)
    # scaled gradients would be ~65536 times larger than max_norm after a clip on scaled values
    assert max(probe.norms) <= 0.05 * (1 + 1e-3)
    assert float(clip.norm) < 1e3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_norm": 0}, "max_norm must be a positive finite number, got 0"),
        ({"max_norm": math.inf}, "max_norm must be a positive finite number, got inf"),
        ({"norm_type": -1.0}, "norm_type must be a positive number or math.inf, got -1.0"),
    ],
)
def test_rejects_bad_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        GradientClip(**kwargs)
