import torch
from torch import nn

from lamina.models.probe import (
    child_output_shapes,
    dummy_input,
    evaluating,
    first_conv,
    input_channels,
    num_features,
)
from lamina.models.simple_cnn import simple_cnn


def test_child_output_shapes_removes_hooks_and_keeps_modes():
    body = nn.Sequential(nn.Conv2d(2, 4, 3, stride=2, padding=1), nn.BatchNorm2d(4), nn.ReLU())
    body[0].train(False)  # mixed modes must come back exactly as they were
    shapes = child_output_shapes(body, torch.zeros(1, 2, 8, 8))
    assert shapes == [(1, 4, 4, 4)] * 3
    assert all(not m._forward_hooks for m in body.modules())
    assert [m.training for m in body] == [False, True, True]
    assert body[1].num_batches_tracked.item() == 0  # statistics untouched


def test_evaluating_runs_without_grad_in_eval_mode():
    model = nn.BatchNorm1d(3)
    with evaluating(model):
        assert not model.training
        assert not torch.is_grad_enabled()
    assert model.training


def test_channels_and_features():
    model = simple_cnn((5, 8, 12), num_classes=2)
    assert first_conv(model) is model[0].conv
    assert input_channels(model) == 5
    assert input_channels(nn.Linear(2, 2), default=3) == 3
    assert dummy_input(model, (6, 7)).shape == (1, 5, 6, 7)
    assert num_features(model[:2]) == 12
