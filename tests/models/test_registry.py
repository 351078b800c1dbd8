import sys
import types

import pytest
from torch import nn

from lamina.core.registry import registered_name
from lamina.models import build_model, model_names
from lamina.models.resnet import ResNet, resnet18
from lamina.models.xresnet import XResNet


def test_every_architecture_is_registered():
    expected = {"resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "simple_cnn",
                "xresnet18", "xresnet34", "xresnet50"}  # fmt: skip
    assert expected <= set(model_names())
    assert registered_name("model", resnet18) == "resnet18"


def test_build_model_passes_json_kwargs():
    model = build_model("resnet18", num_classes=4, in_chans=1)
    assert isinstance(model, ResNet)
    assert model.fc.out_features == 4
    assert model.conv1.in_channels == 1
    assert isinstance(build_model("xresnet18", num_classes=2), XResNet)
    assert build_model("simple_cnn", channels=[1, 4], num_classes=2)[-1].out_features == 2


def test_unknown_name_lists_known_names():
    with pytest.raises(ValueError, match=r"unknown model name 'resnet19'.*resnet18.*xresnet50"):
        build_model("resnet19")


def test_timm_names_need_timm(monkeypatch):
    monkeypatch.setitem(sys.modules, "timm", None)  # makes `import timm` fail
    with pytest.raises(ImportError, match="pip install timm"):
        build_model("timm/resnet18")


def test_timm_names_go_to_timm_create_model(monkeypatch):
    calls = []

    def create_model(name, **kwargs):
        calls.append((name, kwargs))
        return nn.Linear(2, 2)

    fake = types.ModuleType("timm")
    fake.create_model = create_model
    monkeypatch.setitem(sys.modules, "timm", fake)
    assert isinstance(build_model("timm/convnext_tiny", num_classes=3), nn.Linear)
    assert calls == [("convnext_tiny", {"num_classes": 3})]
