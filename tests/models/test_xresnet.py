import pytest
import torch
from torch import nn

from lamina.models.layers import ConvNormAct
from lamina.models.xresnet import XResBlock, xresnet18, xresnet34, xresnet50


@pytest.mark.parametrize("constructor", [xresnet18, xresnet34, xresnet50])
def test_forward_shape(constructor):
    model = constructor(num_classes=7, in_chans=2)
    assert model(torch.randn(2, 2, 32, 32)).shape == (2, 7)


def test_stem_is_three_3x3_convs():
    stem = xresnet18().stem
    convs = [block.conv for block in stem]
    assert [(c.in_channels, c.out_channels) for c in convs] == [(3, 32), (32, 32), (32, 64)]
    assert all(c.kernel_size == (3, 3) for c in convs)
    assert [c.stride for c in convs] == [(2, 2), (1, 1), (1, 1)]


def test_downsampling_shortcut_average_pools_then_1x1_conv():
    shortcut = xresnet18().stage2[0].shortcut
    assert isinstance(shortcut[0], nn.AvgPool2d)
    assert isinstance(shortcut[1], ConvNormAct)
    assert shortcut[1].conv.kernel_size == (1, 1)
    assert shortcut[1].conv.stride == (1, 1)


@pytest.mark.parametrize(("in_ch", "width", "expansion"), [(16, 16, 1), (32, 8, 4)])
def test_fresh_block_is_identity_on_its_residual_branch(in_ch, width, expansion):
    block = XResBlock(in_ch, width, stride=1, expansion=expansion)
    x = torch.randn(2, in_ch, 6, 6)
    assert torch.equal(block.branch(x), torch.zeros_like(x))
    assert torch.equal(block(x), torch.relu(x))


def test_fresh_downsampling_block_passes_only_the_shortcut():
    block = XResBlock(8, 16, stride=2)
    x = torch.randn(2, 8, 7, 7)
    out = block(x)
    assert out.shape == (2, 16, 4, 4)  # ceil_mode average pool keeps odd edges
    assert torch.allclose(out, torch.relu(block.shortcut(x)))


def test_every_block_zero_inits_its_last_norm():
    last_norms = [block.branch[-1].norm.weight for block in xresnet18().modules()
                  if isinstance(block, XResBlock)]  # fmt: skip
    assert len(last_norms) == 8
    assert all(torch.equal(w, torch.zeros_like(w)) for w in last_norms)


def test_parameter_count_derived_by_hand():
    # xresnet18, 3 input channels, 10 classes. Convs have no bias; a BatchNorm has 2 * channels.
    stem = (3 * 32 * 9 + 2 * 32) + (32 * 32 * 9 + 2 * 32) + (32 * 64 * 9 + 2 * 64)

    def basic(c_in, c_out):  # two 3x3 convs + norms, and a 1x1 conv + norm if shapes change
        convs = c_in * c_out * 9 + c_out * c_out * 9 + 2 * 2 * c_out
        return convs + (c_in * c_out + 2 * c_out if c_in != c_out else 0)

    stages = sum(basic(c_in, c_out) + basic(c_out, c_out)
                 for c_in, c_out in [(64, 64), (64, 128), (128, 256), (256, 512)])  # fmt: skip
    fc = 512 * 10 + 10
    assert stem + stages + fc == 11_200_874
    assert sum(p.numel() for p in xresnet18(num_classes=10).parameters()) == 11_200_874


def test_kaiming_init_and_rejects_bad_arguments():
    conv = xresnet18().stage4[1].branch[0].conv
    assert conv.weight.std().item() == pytest.approx((2.0 / (512 * 9)) ** 0.5, rel=0.02)
    with pytest.raises(ValueError, match="dropout"):
        xresnet18(dropout=1.5)
    with pytest.raises(ValueError, match="expansion"):
        XResBlock(8, 8, expansion=2)
