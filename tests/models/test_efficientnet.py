"""EfficientNet-Lite0: the published names and shapes, TensorFlow "SAME" padding, the body cut."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lamina.models import build_model, create_body, create_vision_model, default_split
from lamina.models.efficientnet import SamePadConv2d, efficientnet_lite0


def test_parameters_and_names_match_the_published_checkpoint() -> None:
    model = efficientnet_lite0()
    assert sum(param.numel() for param in model.parameters()) == 4_652_008
    shapes = {key: tuple(value.shape) for key, value in model.state_dict().items()}
    assert len(shapes) == 296  # what the published state dict holds
    assert shapes["_conv_stem.weight"] == (32, 3, 3, 3)
    assert "_blocks.0._expand_conv.weight" not in shapes  # the first block does not expand
    assert shapes["_blocks.0._depthwise_conv.weight"] == (32, 1, 3, 3)
    assert shapes["_blocks.3._depthwise_conv.weight"] == (144, 1, 5, 5)
    assert shapes["_blocks.15._project_conv.weight"] == (320, 1152, 1, 1)
    assert shapes["_conv_head.weight"] == (1280, 320, 1, 1)
    assert shapes["_bn1.running_var"] == (1280,)
    assert shapes["_fc.weight"] == (1000, 1280)
    assert model._bn0.eps == 1e-3  # TensorFlow's, which the running statistics were made with


def test_batchnorm_uses_tensorflows_epsilon_and_moving_average_rate() -> None:
    torch.manual_seed(0)
    model = efficientnet_lite0().train()
    norms = [module for module in model.modules() if isinstance(module, nn.BatchNorm2d)]
    assert len(norms) == 49
    assert {(norm.eps, norm.momentum) for norm in norms} == {(1e-3, 0.01)}
    # one training batch moves the running mean 1% of the way to the batch's (not 10%)
    images = torch.randn(4, 3, 32, 32) + 3
    with torch.no_grad():
        batch_mean = model._conv_stem(images).mean(dim=(0, 2, 3))
        model(images)
    torch.testing.assert_close(model._bn0.running_mean, 0.01 * batch_mean)


@pytest.mark.parametrize(("size", "expected"), [(96, 3), (65, 3), (32, 1)])
def test_any_input_size_gives_ceil_of_size_over_32(size: int, expected: int) -> None:
    model = build_model("efficientnet_lite0", num_classes=4, in_chans=1).eval()
    body = create_body(model, n_in=1)
    with torch.no_grad():
        assert body(torch.randn(1, 1, size, size)).shape == (1, 1280, expected, expected)
        assert model(torch.randn(2, 1, size, size)).shape == (2, 4)


def test_strided_convolutions_pad_like_tensorflow_same() -> None:
    torch.manual_seed(0)
    conv = SamePadConv2d(2, 3, 5, stride=2)
    even, odd = torch.randn(1, 2, 8, 8), torch.randn(1, 2, 9, 9)
    # even input: 3 pixels of padding, 1 before and 2 after; odd: 4, split evenly
    torch.testing.assert_close(
        conv(even), F.conv2d(F.pad(even, [1, 2, 1, 2]), conv.weight, None, 2)
    )
    torch.testing.assert_close(conv(odd), F.conv2d(odd, conv.weight, None, 2, padding=2))
    assert conv(even).shape[-1] == 4
    assert conv(odd).shape[-1] == 5
    plain = SamePadConv2d(2, 3, 3)
    assert plain(even).shape == (1, 3, 8, 8)


def test_vision_model_cuts_before_the_pooling_and_splits_in_three_groups() -> None:
    model = create_vision_model("efficientnet_lite0", n_out=5)
    names = [name for name, _ in model.body.named_children()]
    assert names == ["_conv_stem", "_bn0", "stem_activation", "_blocks", "_conv_head", "_bn1",
                     "head_activation"]  # fmt: skip
    assert model(torch.randn(2, 3, 64, 64)).shape == (2, 5)
    groups = default_split(model)
    assert len(groups) == 3
    assert sum(len(group) for group in groups) == len(list(model.parameters()))


def test_arguments_are_validated() -> None:
    with pytest.raises(ValueError, match="num_classes must be a positive integer, got 0"):
        efficientnet_lite0(num_classes=0)
    with pytest.raises(ValueError, match=r"dropout must be a number in \[0, 1\), got 1.5"):
        efficientnet_lite0(dropout=1.5)
