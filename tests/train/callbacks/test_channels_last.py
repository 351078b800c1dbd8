"""ChannelsLast: channels-last only while fitting; the user's model is contiguous outside a fit."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from lamina import Callback, Learner
from lamina.data.loaders import DataLoaders
from lamina.train.callbacks import ChannelsLast


def _conv_net() -> nn.Module:
    # No conv bias before the norm: its gradient is rounding noise, which Adam would amplify.
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 2),
    )  # fmt: skip


def _images(n: int = 64, seed: int = 0) -> DataLoaders:
    generator = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=generator)
    x = torch.randn(n, 3, 8, 8, generator=generator) + y.view(-1, 1, 1, 1).float()
    return DataLoaders.from_tensors((x[:48], y[:48]), (x[48:], y[48:]), bs=16, device="cpu")


def _learner(*cbs: Callback) -> Learner:
    torch.manual_seed(0)
    learn = Learner(_images(), _conv_net(), loss_func=nn.CrossEntropyLoss(), lr=1e-2,
                    cbs=[ChannelsLast(), *cbs])  # fmt: skip
    learn.progress.silent = True
    return learn


class FormatProbe(Callback):
    """Records whether the conv weight and the input are channels-last at each batch."""

    def __init__(self) -> None:
        self.weights: set[bool] = set()
        self.inputs: set[bool] = set()

    def after_pred(self) -> None:
        weight = self.learn.model[0].weight
        self.weights.add(weight.is_contiguous(memory_format=torch.channels_last))
        self.inputs.add(self.learn.xb[0].is_contiguous(memory_format=torch.channels_last))


def _all_contiguous(learn: Learner) -> bool:
    tensors = [*learn.model.state_dict().values()]
    assert learn.opt is not None
    tensors += [v for s in learn.opt.state.values() for v in s.values() if v.ndim == 4]
    return all(t.is_contiguous() for t in tensors)


def test_fit_runs_channels_last_and_gives_the_model_back_contiguous(tmp_path: Path) -> None:
    probe = FormatProbe()
    learn = _learner(probe)
    params = list(learn.model.parameters())
    learn.fit(2)
    assert probe.weights == {True}
    assert probe.inputs == {True}
    assert _all_contiguous(learn)
    assert [id(p) for p in learn.model.parameters()] == [id(p) for p in params]
    safetensors = pytest.importorskip("safetensors.torch")
    file = tmp_path / "weights.safetensors"
    safetensors.save_file(learn.model.state_dict(), str(file))  # fails on channels-last tensors
    loaded = safetensors.load_file(str(file))
    assert torch.equal(loaded["0.weight"], learn.model.state_dict()["0.weight"])
    learn.fit(1)  # a second fit converts again, optimizer state included
    assert probe.weights == {True}
    assert _all_contiguous(learn)


def test_same_training_as_contiguous() -> None:
    learn = _learner()
    learn.fit(2)
    torch.manual_seed(0)
    plain = Learner(_images(), _conv_net(), loss_func=nn.CrossEntropyLoss(), lr=1e-2)
    plain.progress.silent = True
    plain.fit(2)
    for (name, a), b in zip(learn.model.state_dict().items(), plain.model.state_dict().values(),
                            strict=True):  # fmt: skip
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4, msg=name)


def test_an_error_mid_fit_still_gives_the_model_back_contiguous() -> None:
    class Boom(Callback):
        def after_batch(self) -> None:
            if self.learn.iter == 1:
                raise RuntimeError("boom")

    learn = _learner(Boom())
    with pytest.raises(RuntimeError, match="boom"):
        learn.fit(1)
    assert not learn.channels_last.active
    assert _all_contiguous(learn)
