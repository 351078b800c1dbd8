import pytest
import torch
from torch import nn

from lamina.models.pretrained import load_weights


def _model():
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))


def test_loads_matching_state_dict():
    source, target = _model(), _model()
    load_weights(target, source.state_dict())
    assert torch.equal(target[0].weight, source[0].weight)


def test_error_names_missing_unexpected_and_mismatched_tensors():
    state = _model().state_dict()
    del state["1.running_mean"]
    state["extra.weight"] = torch.zeros(1)
    state["0.weight"] = torch.zeros(4, 1, 3, 3)
    target = _model()
    before = target[0].bias.clone()
    state["0.bias"] = torch.ones(4)
    with pytest.raises(ValueError, match="missing keys: 1.running_mean") as info:
        load_weights(target, state)
    message = str(info.value)
    assert "1 unexpected keys: extra.weight" in message
    assert "0.weight: checkpoint (4, 1, 3, 3), model (4, 3, 3, 3)" in message
    assert torch.equal(target[0].bias, before)  # nothing copied on error


def test_long_lists_are_shortened():
    state = {f"junk{i}": torch.zeros(1) for i in range(15)} | _model().state_dict()
    with pytest.raises(ValueError, match=r"15 unexpected keys: .*\.\.\. and 5 more"):
        load_weights(_model(), state)
