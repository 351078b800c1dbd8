import copy

import pytest
import torch
from torch import nn

from lamina.models.channels import adapt_input_channels
from lamina.models.resnet import resnet18
from lamina.models.simple_cnn import simple_cnn


def test_grey_model_matches_rgb_model_on_replicated_image():
    rgb = resnet18(num_classes=5).eval()
    grey = adapt_input_channels(copy.deepcopy(rgb), 1)
    assert grey.conv1.in_channels == 1
    image = torch.randn(2, 1, 32, 32)
    with torch.no_grad():
        assert torch.allclose(grey(image), rgb(image.repeat(1, 3, 1, 1)), atol=1e-5)


def test_more_channels_repeat_kernels_cyclically_and_rescale():
    rgb = simple_cnn((3, 8, 16), num_classes=4).eval()
    six = adapt_input_channels(copy.deepcopy(rgb), 6)
    old, new = rgb[0].conv.weight, six[0].conv.weight
    assert torch.allclose(new[:, 3:], old * 0.5)
    assert torch.allclose(new[:, :3], old * 0.5)
    image = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        assert torch.allclose(six(image.repeat(1, 2, 1, 1)), rgb(image), atol=1e-5)


def test_four_channels_keep_rgb_kernels_scaled():
    conv = nn.Conv2d(3, 2, 3, bias=True)
    new = adapt_input_channels(conv, 4)
    assert new.in_channels == 4
    assert torch.allclose(new.weight[:, 3], conv.weight[:, 0] * 0.75)
    assert torch.equal(new.bias, conv.bias)
    assert conv.in_channels == 3  # the given conv is not changed


def test_same_channels_is_a_no_op_and_errors_are_clear():
    model = simple_cnn()
    conv = model[0].conv
    assert adapt_input_channels(model, 3)[0].conv is conv
    with pytest.raises(ValueError, match="no Conv2d"):
        adapt_input_channels(nn.Linear(2, 2), 1)
    with pytest.raises(ValueError, match="n_in"):
        adapt_input_channels(model, 0)
