"""A small plain CNN: strided conv blocks, global average pooling, one linear layer."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from torch import nn

from lamina.core.registry import register
from lamina.models._checks import check_positive_int
from lamina.models.layers import ConvNormAct, Flatten


@register("model", "simple_cnn")
def simple_cnn(
    channels: Sequence[int] = (3, 16, 32, 64),
    num_classes: int = 10,
    in_chans: int | None = None,
) -> nn.Sequential:
    """A CNN of stride-2 `ConvNormAct` blocks: (B, channels[0], H, W) -> (B, num_classes).

    Each block halves the spatial size; then adaptive average pooling, a flatten and a linear
    layer.

    Args:
        channels: the input channels, then the output channels of each conv block.
        in_chans: overrides `channels[0]` (every registered vision model accepts `in_chans`).

    Example:
        >>> model = simple_cnn((1, 8, 16), num_classes=10)
        >>> model(torch.randn(2, 1, 28, 28)).shape
        torch.Size([2, 10])
    """
    channels = list(channels)
    if len(channels) < 2:
        raise ValueError(f"channels needs the input and at least one conv width, got {channels!r}")
    if in_chans is not None:
        channels[0] = in_chans
    for width in channels:
        check_positive_int("each entry of channels", width)
    check_positive_int("num_classes", num_classes)
    convs = [ConvNormAct(c_in, c_out, 3, stride=2) for c_in, c_out in pairwise(channels)]
    return nn.Sequential(
        *convs, nn.AdaptiveAvgPool2d(1), Flatten(), nn.Linear(channels[-1], num_classes)
    )
