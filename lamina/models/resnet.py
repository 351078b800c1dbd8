"""ResNet 18/34/50/101/152 (He et al., 2015), with the v1.5 bottleneck (stride on the 3x3 conv).

Parameter and buffer names follow the layout of the widely published ImageNet checkpoints
(`conv1`, `bn1`, `layer1.0.conv1`, `layer1.0.downsample.0`, ..., `fc`), so such a state dict
loads into these models unchanged with `strict=True`.
"""

from __future__ import annotations

import torch
from torch import nn

from lamina.core.registry import register
from lamina.models._checks import check_positive_int
from lamina.models.small_map_conv import SmallMapConv2d


def _conv(in_ch: int, out_ch: int, kernel_size: int, stride: int = 1) -> nn.Conv2d:
    # An nn.Conv2d that runs one-pixel outputs (layer4 of small images) as a matrix product.
    return SmallMapConv2d(in_ch, out_ch, kernel_size, stride, padding=kernel_size // 2, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 convs with a shortcut: (B, in_ch, H, W) -> (B, width, H / stride, W / stride)."""

    expansion = 1

    def __init__(
        self, in_ch: int, width: int, stride: int = 1, downsample: nn.Module | None = None
    ) -> None:
        super().__init__()
        self.conv1 = _conv(in_ch, width, 3, stride)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv(width, width, 3)
        self.bn2 = nn.BatchNorm2d(width)
        self.downsample = downsample

    def last_norm(self) -> nn.BatchNorm2d:
        """The norm closing the residual branch (zeroed to start the block as the identity)."""
        return self.bn2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + shortcut)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (strided), 1x1 expand, with a shortcut.

    Shapes: (B, in_ch, H, W) -> (B, 4 * width, H / stride, W / stride).
    """

    expansion = 4

    def __init__(
        self, in_ch: int, width: int, stride: int = 1, downsample: nn.Module | None = None
    ) -> None:
        super().__init__()
        self.conv1 = _conv(in_ch, width, 1)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = _conv(width, width, 3, stride)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = _conv(width, width * self.expansion, 1)
        self.bn3 = nn.BatchNorm2d(width * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def last_norm(self) -> nn.BatchNorm2d:
        """The norm closing the residual branch (zeroed to start the block as the identity)."""
        return self.bn3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + shortcut)


class ResNet(nn.Module):
    """A ResNet classifier: (B, in_chans, H, W) -> (B, num_classes) logits.

    The stem (7x7 conv stride 2, max-pool stride 2) and the strides of layers 2-4 divide the
    spatial size by 32; a 32x32 input reaches `layer4` as a 1x1 map, which is fine.

    Args:
        block: `BasicBlock` or `Bottleneck`.
        layers: the number of blocks in each of the four stages.
        zero_init_residual: zero the last norm of each block so every block starts as the
            identity on its residual branch.
    """

    def __init__(
        self,
        block: type[BasicBlock] | type[Bottleneck],
        layers: tuple[int, int, int, int],
        num_classes: int = 1000,
        in_chans: int = 3,
        zero_init_residual: bool = False,
    ) -> None:
        super().__init__()
        check_positive_int("num_classes", num_classes)
        check_positive_int("in_chans", in_chans)
        if len(layers) != 4:
            raise ValueError(f"layers must give 4 stage depths, got {layers!r}")
        for depth in layers:
            check_positive_int("each entry of layers", depth)
        self.conv1 = nn.Conv2d(in_chans, 64, 7, 2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, padding=1)
        in_ch = 64
        stages = []
        for index, (width, depth) in enumerate(zip((64, 128, 256, 512), layers, strict=True)):
            stages.append(_stage(block, in_ch, width, depth, stride=1 if index == 0 else 2))
            in_ch = width * block.expansion
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_ch, num_classes)
        self._init_weights(zero_init_residual)

    def _init_weights(self, zero_init_residual: bool) -> None:
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        if zero_init_residual:
            for module in self.modules():
                if isinstance(module, (BasicBlock, Bottleneck)):
                    nn.init.zeros_(module.last_norm().weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))  # (B, 64, H/4, W/4)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))  # (B, 512*exp, H/32, W/32)
        return self.fc(torch.flatten(self.avgpool(x), 1))


def _stage(
    block: type[BasicBlock] | type[Bottleneck], in_ch: int, width: int, depth: int, stride: int
) -> nn.Sequential:
    out_ch = width * block.expansion
    downsample = None
    if stride != 1 or in_ch != out_ch:
        downsample = nn.Sequential(_conv(in_ch, out_ch, 1, stride), nn.BatchNorm2d(out_ch))
    blocks = [block(in_ch, width, stride, downsample)]
    blocks += [block(out_ch, width) for _ in range(depth - 1)]
    return nn.Sequential(*blocks)


@register("model", "resnet18")
def resnet18(
    num_classes: int = 1000, in_chans: int = 3, zero_init_residual: bool = False
) -> ResNet:
    """ResNet-18: basic blocks (2, 2, 2, 2); 11,689,512 parameters with 1000 classes."""
    return ResNet(BasicBlock, (2, 2, 2, 2), num_classes, in_chans, zero_init_residual)


@register("model", "resnet34")
def resnet34(
    num_classes: int = 1000, in_chans: int = 3, zero_init_residual: bool = False
) -> ResNet:
    """ResNet-34: basic blocks (3, 4, 6, 3); 21,797,672 parameters with 1000 classes."""
    return ResNet(BasicBlock, (3, 4, 6, 3), num_classes, in_chans, zero_init_residual)


@register("model", "resnet50")
def resnet50(
    num_classes: int = 1000, in_chans: int = 3, zero_init_residual: bool = False
) -> ResNet:
    """ResNet-50: bottleneck blocks (3, 4, 6, 3); 25,557,032 parameters with 1000 classes."""
    return ResNet(Bottleneck, (3, 4, 6, 3), num_classes, in_chans, zero_init_residual)


@register("model", "resnet101")
def resnet101(
    num_classes: int = 1000, in_chans: int = 3, zero_init_residual: bool = False
) -> ResNet:
    """ResNet-101: bottleneck blocks (3, 4, 23, 3); 44,549,160 parameters with 1000 classes."""
    return ResNet(Bottleneck, (3, 4, 23, 3), num_classes, in_chans, zero_init_residual)


@register("model", "resnet152")
def resnet152(
    num_classes: int = 1000, in_chans: int = 3, zero_init_residual: bool = False
) -> ResNet:
    """ResNet-152: bottleneck blocks (3, 8, 36, 3); 60,192,808 parameters with 1000 classes."""
    return ResNet(Bottleneck, (3, 8, 36, 3), num_classes, in_chans, zero_init_residual)
