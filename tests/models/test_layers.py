import pytest
import torch
from torch import nn

from lamina.models.layers import AdaptiveConcatPool2d, ConvNormAct, Flatten, SigmoidRange, init_cnn


def test_conv_norm_act_shapes_and_parts():
    block = ConvNormAct(3, 8, kernel_size=3, stride=2)
    assert [name for name, _ in block.named_children()] == ["conv", "norm", "act"]
    assert block.conv.bias is None  # the norm absorbs a bias
    assert block(torch.randn(2, 3, 9, 10)).shape == (2, 8, 5, 5)


def test_conv_norm_act_without_norm_or_act():
    block = ConvNormAct(3, 4, kernel_size=1, norm=False, act=None)
    assert [name for name, _ in block.named_children()] == ["conv"]
    assert block.conv.bias is not None
    x = torch.randn(2, 3, 5, 5)
    assert torch.allclose(block(x), block.conv(x))


def test_conv_norm_act_zero_norm_outputs_zeros():
    block = ConvNormAct(3, 4, act=None, zero_norm=True)
    assert torch.equal(block(torch.randn(2, 3, 6, 6)), torch.zeros(2, 4, 6, 6))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"in_ch": 0, "out_ch": 4}, "in_ch"),
        ({"in_ch": 3, "out_ch": 4, "stride": 0}, "stride"),
        ({"in_ch": 3, "out_ch": 4, "norm": False, "zero_norm": True}, "zero_norm"),
    ],
)
def test_conv_norm_act_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ConvNormAct(**kwargs)


def test_adaptive_concat_pool_is_max_then_mean():
    x = torch.randn(2, 3, 4, 5)
    out = AdaptiveConcatPool2d()(x)
    assert out.shape == (2, 6, 1, 1)
    assert torch.allclose(out[:, :3, 0, 0], x.amax(dim=(2, 3)))
    assert torch.allclose(out[:, 3:, 0, 0], x.mean(dim=(2, 3)))


def test_flatten_keeps_batch():
    assert Flatten()(torch.randn(2, 3, 4, 5)).shape == (2, 60)


def test_sigmoid_range_maps_into_interval():
    layer = SigmoidRange(-1.0, 3.0)
    x = torch.tensor([-100.0, 0.0, 100.0])
    out = layer(x)
    assert torch.allclose(out, torch.tensor([-1.0, 1.0, 3.0]))
    assert "low=-1.0" in repr(layer)
    with pytest.raises(ValueError, match="low < high"):
        SigmoidRange(2, 2)


def test_init_cnn_zeroes_biases_and_leaves_norms():
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.Linear(8, 4))
    nn.init.constant_(model[1].weight, 0.0)
    nn.init.constant_(model[0].bias, 1.0)
    init_cnn(model)
    assert torch.equal(model[0].bias, torch.zeros(8))
    assert torch.equal(model[2].bias, torch.zeros(4))
    assert torch.equal(model[1].weight, torch.zeros(8))


def test_init_cnn_is_kaiming_normal():
    conv = nn.Conv2d(256, 256, 3)
    init_cnn(conv)
    expected_std = (2.0 / (256 * 9)) ** 0.5
    assert conv.weight.std().item() == pytest.approx(expected_std, rel=0.02)
