"""SmallMapConv2d: the matrix-product route gives the convolution's outputs and gradients."""

import itertools

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from lamina.models.small_map_conv import SmallMapConv2d, live_taps


def _one_pixel_cases() -> list[tuple[int, int, int, int]]:
    """(size, kernel, stride, padding) for one dimension with a one-pixel output."""
    cases = []
    for size, kernel, stride, padding in itertools.product(
        range(1, 6), (1, 2, 3, 5, 7), (1, 2, 3), range(4)
    ):
        out = (size + 2 * padding - kernel) // stride + 1
        if out == 1 and live_taps(size, kernel, stride, padding) is not None:
            cases.append((size, kernel, stride, padding))
    return cases


CASES = _one_pixel_cases()


def test_the_cases_cover_the_shapes_that_matter() -> None:
    assert (1, 3, 1, 1) in CASES  # a 3x3 conv on a 1x1 map (ResNet layer4 at 32 px)
    assert (2, 3, 2, 1) in CASES  # a stride-2 3x3 conv on a 2x2 map
    assert (2, 1, 2, 0) in CASES  # the stride-2 1x1 shortcut on a 2x2 map
    assert len(CASES) > 30


def _compare(conv: SmallMapConv2d, x: torch.Tensor) -> None:
    assert conv._one_pixel_taps(x) is not None, "the matrix-product route was not taken"
    x_ref = x.detach().clone().requires_grad_()
    x_new = x.detach().clone().requires_grad_()
    expected = F.conv2d(x_ref, conv.weight, conv.bias, conv.stride, conv.padding)
    (grad_w_ref, *grad_b_ref, grad_x_ref) = torch.autograd.grad(
        (expected * torch.arange(expected.numel()).view_as(expected)).sum(),
        [conv.weight, *([conv.bias] if conv.bias is not None else []), x_ref],
    )
    got = conv(x_new)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)
    (grad_w, *grad_b, grad_x) = torch.autograd.grad(
        (got * torch.arange(got.numel()).view_as(got)).sum(),
        [conv.weight, *([conv.bias] if conv.bias is not None else []), x_new],
    )
    torch.testing.assert_close(grad_w, grad_w_ref, rtol=1e-4, atol=1e-3)
    torch.testing.assert_close(grad_x, grad_x_ref, rtol=1e-4, atol=1e-3)
    for mine, ref in zip(grad_b, grad_b_ref, strict=True):
        torch.testing.assert_close(mine, ref, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize(("size", "kernel", "stride", "padding"), CASES)
def test_square_one_pixel_outputs_match_the_convolution(
    size: int, kernel: int, stride: int, padding: int
) -> None:
    torch.manual_seed(size * 1000 + kernel * 100 + stride * 10 + padding)
    conv = SmallMapConv2d(3, 5, kernel, stride, padding, bias=True)
    _compare(conv, torch.randn(4, 3, size, size))


@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last])
def test_rectangular_strided_channels_last_and_no_bias(memory_format: torch.memory_format) -> None:
    torch.manual_seed(0)
    conv = SmallMapConv2d(6, 4, (3, 2), (2, 3), (1, 0), bias=False)
    conv = conv.to(memory_format=memory_format)  # type: ignore[call-overload]
    x = torch.randn(3, 6, 2, 3).contiguous(memory_format=memory_format)
    _compare(conv, x)


def test_a_resnet_layer4_shape_matches() -> None:
    torch.manual_seed(0)
    conv = SmallMapConv2d(64, 32, 3, 1, 1, bias=False)
    _compare(conv, torch.randn(16, 64, 1, 1))


@pytest.mark.parametrize(
    ("conv", "x"),
    [
        (SmallMapConv2d(3, 4, 3, padding=1), torch.randn(2, 3, 2, 2)),  # a 2x2 output
        (SmallMapConv2d(4, 4, 3, padding=1, groups=2), torch.randn(2, 4, 1, 1)),
        (SmallMapConv2d(3, 4, 3, padding=2, dilation=2), torch.randn(2, 3, 1, 1)),
        (SmallMapConv2d(3, 4, 3, padding="same"), torch.randn(2, 3, 1, 1)),
        (SmallMapConv2d(3, 4, 3, padding=1, padding_mode="reflect"), torch.randn(2, 3, 2, 2)),
        (SmallMapConv2d(3, 4, 3, padding=1), torch.randn(3, 1, 1)),  # unbatched
        (SmallMapConv2d(3, 4, 1, stride=5, padding=3), torch.randn(2, 3, 1, 1)),  # all padding
    ],
)
def test_other_convolutions_take_the_ordinary_route(conv: SmallMapConv2d, x: torch.Tensor) -> None:
    assert conv._one_pixel_taps(x) is None
    expected = nn.Conv2d.forward(conv, x)
    torch.testing.assert_close(conv(x), expected)


def test_export_records_the_convolution_itself() -> None:
    torch.manual_seed(0)
    conv = SmallMapConv2d(3, 4, 3, padding=1).eval()
    x = torch.randn(2, 3, 1, 1)
    program = torch.export.export(conv, (x,))
    targets = {str(node.target) for node in program.graph.nodes if node.op == "call_function"}
    assert any("conv" in target for target in targets), targets
    torch.testing.assert_close(program.module()(x), F.conv2d(x, conv.weight, conv.bias, 1, 1))


def test_state_dict_is_an_ordinary_conv2d_one() -> None:
    plain = nn.Conv2d(3, 4, 3, padding=1)
    mine = SmallMapConv2d(3, 4, 3, padding=1)
    mine.load_state_dict(plain.state_dict())
    assert isinstance(mine, nn.Conv2d)
    assert list(mine.state_dict()) == list(plain.state_dict())
    x = torch.randn(2, 3, 1, 1)
    torch.testing.assert_close(mine(x), plain(x))


def test_an_empty_batch_and_wrong_inputs_behave_as_nn_conv2d() -> None:
    conv = SmallMapConv2d(3, 4, 3, padding=1)
    assert conv(torch.randn(0, 3, 1, 1)).shape == (0, 4, 1, 1)
    with pytest.raises(RuntimeError, match="expected input.*to have 3 channels"):
        conv(torch.randn(2, 5, 1, 1))
    with pytest.raises(RuntimeError, match="should be the same|same dtype"):
        conv(torch.randn(2, 3, 1, 1, dtype=torch.float64))


def test_under_cpu_autocast_a_bfloat16_input_takes_the_route() -> None:
    torch.manual_seed(0)
    conv = SmallMapConv2d(8, 4, 3, padding=1)
    x = torch.randn(2, 8, 1, 1).bfloat16()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert conv._one_pixel_taps(x) is not None
        got = conv(x)
        expected = F.conv2d(x, conv.weight, conv.bias, 1, 1)
    assert got.dtype == expected.dtype == torch.bfloat16
    torch.testing.assert_close(got, expected, rtol=2e-2, atol=2e-2)
