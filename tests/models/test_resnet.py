import pytest
import torch
from torch import nn

from lamina.models.pretrained import load_weights
from lamina.models.resnet import resnet18, resnet34, resnet50, resnet101, resnet152


def _conv(shapes, name, out_ch, in_ch, kernel):
    shapes[f"{name}.weight"] = (out_ch, in_ch, kernel, kernel)


def _bn(shapes, name, channels):
    for suffix in ("weight", "bias", "running_mean", "running_var"):
        shapes[f"{name}.{suffix}"] = (channels,)
    shapes[f"{name}.num_batches_tracked"] = ()


def expected_resnet_shapes(depths, bottleneck, num_classes=1000):
    """Names and shapes of the published ImageNet ResNet checkpoints, written from the paper's
    layout: a 7x7 stem to 64 channels, stages of widths 64-128-256-512, bottlenecks expanding 4x,
    a 1x1 conv + BN shortcut where shape changes, then the linear classifier."""
    shapes = {}
    _conv(shapes, "conv1", 64, 3, 7)
    _bn(shapes, "bn1", 64)
    in_ch = 64
    for stage, (width, depth) in enumerate(zip((64, 128, 256, 512), depths, strict=True), 1):
        out_ch = width * 4 if bottleneck else width
        for index in range(depth):
            prefix = f"layer{stage}.{index}"
            if bottleneck:
                _conv(shapes, f"{prefix}.conv1", width, in_ch, 1)
                _bn(shapes, f"{prefix}.bn1", width)
                _conv(shapes, f"{prefix}.conv2", width, width, 3)
                _bn(shapes, f"{prefix}.bn2", width)
                _conv(shapes, f"{prefix}.conv3", out_ch, width, 1)
                _bn(shapes, f"{prefix}.bn3", out_ch)
            else:
                _conv(shapes, f"{prefix}.conv1", width, in_ch, 3)
                _bn(shapes, f"{prefix}.bn1", width)
                _conv(shapes, f"{prefix}.conv2", width, width, 3)
                _bn(shapes, f"{prefix}.bn2", width)
            if index == 0 and (stage > 1 or in_ch != out_ch):
                _conv(shapes, f"{prefix}.downsample.0", out_ch, in_ch, 1)
                _bn(shapes, f"{prefix}.downsample.1", out_ch)
            in_ch = out_ch
    shapes["fc.weight"] = (num_classes, in_ch)
    shapes["fc.bias"] = (num_classes,)
    return shapes


@pytest.fixture
def no_init(monkeypatch):
    """Skip weight init (most of the build time of the deep models): shapes and counts only."""
    for name in ("kaiming_normal_", "kaiming_uniform_"):
        monkeypatch.setattr(nn.init, name, lambda weight, *args, **kwargs: weight)


@pytest.mark.parametrize(
    ("constructor", "depths", "bottleneck"),
    [(resnet18, (2, 2, 2, 2), False), (resnet50, (3, 4, 6, 3), True)],
)
@pytest.mark.usefixtures("no_init")
def test_state_dict_names_and_shapes_match_published_layout(constructor, depths, bottleneck):
    got = {key: tuple(value.shape) for key, value in constructor().state_dict().items()}
    assert got == expected_resnet_shapes(depths, bottleneck)


@pytest.mark.parametrize(
    ("constructor", "count"),
    [
        (resnet18, 11_689_512),
        (resnet34, 21_797_672),
        (resnet50, 25_557_032),
        (resnet101, 44_549_160),
        (resnet152, 60_192_808),
    ],
)
@pytest.mark.usefixtures("no_init")
def test_published_parameter_counts(constructor, count):
    assert sum(p.numel() for p in constructor().parameters()) == count


def test_published_style_state_dict_loads_strictly():
    state = {
        key: torch.randn(shape) if shape else torch.tensor(7)
        for key, shape in expected_resnet_shapes((2, 2, 2, 2), False).items()
    }
    model = load_weights(resnet18(), state)
    assert torch.equal(model.layer3[0].downsample[0].weight, state["layer3.0.downsample.0.weight"])
    assert model.bn1.num_batches_tracked.item() == 7


@pytest.mark.usefixtures("no_init")
def test_bottleneck_strides_on_the_3x3_conv():
    model = resnet50()
    block = model.layer2[0]
    assert block.conv1.stride == (1, 1)
    assert block.conv2.stride == (2, 2)
    assert block.downsample[0].stride == (2, 2)


def test_forward_on_small_images_with_other_channels():
    model = resnet18(num_classes=10, in_chans=1)
    assert model(torch.randn(2, 1, 32, 32)).shape == (2, 10)


def test_zero_init_residual_zeroes_last_norms():
    model = resnet18(zero_init_residual=True)
    assert torch.equal(model.layer1[0].bn2.weight, torch.zeros(64))
    assert torch.equal(model.layer1[0].bn1.weight, torch.ones(64))


def test_kaiming_fan_out_init():
    conv = resnet18().layer4[1].conv2
    expected_std = (2.0 / (512 * 9)) ** 0.5  # fan_out = out_channels * kernel area
    assert conv.weight.std().item() == pytest.approx(expected_std, rel=0.02)
    assert isinstance(resnet18().fc, nn.Linear)


@pytest.mark.parametrize(("kwargs", "name"), [({"num_classes": 0}, "num_classes"),
                                              ({"in_chans": -1}, "in_chans")])  # fmt: skip
def test_rejects_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        resnet18(**kwargs)
