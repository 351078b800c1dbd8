"""XResNet: ResNet with the "bag of tricks" changes (He et al., 2018, "Bag of Tricks for Image
Classification with Convolutional Neural Networks").

- the 7x7 stem conv becomes three 3x3 convs (in_chans -> 32 -> 32 -> 64), the first strided;
- a downsampling shortcut average-pools first and then applies a 1x1 conv, so it sees every
  pixel instead of one in four;
- the last norm of each residual branch starts at zero, so every block starts as the identity;
- convs use Kaiming init.

The model is an `nn.Sequential` (stem, maxpool, stage1..4, pool, flatten, fc), so it can be cut
into a body and a head by index.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from lamina.core.registry import register
from lamina.models._checks import check_positive_int
from lamina.models.layers import ConvNormAct, Flatten, init_cnn


class XResBlock(nn.Module):
    """A residual block: act(branch(x) + shortcut(x)).

    Shapes: (B, in_ch, H, W) -> (B, width * expansion, ceil(H / stride), ceil(W / stride)).

    Args:
        expansion: 1 for two 3x3 convs; 4 for a 1x1 / 3x3 / 1x1 bottleneck.
    """

    def __init__(self, in_ch: int, width: int, stride: int = 1, expansion: int = 1) -> None:
        super().__init__()
        if expansion not in (1, 4):
            raise ValueError(f"expansion must be 1 or 4, got {expansion!r}")
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, got {stride!r}")
        out_ch = width * expansion
        if expansion == 1:
            self.branch = nn.Sequential(
                ConvNormAct(in_ch, width, 3, stride),
                ConvNormAct(width, out_ch, 3, act=None, zero_norm=True),
            )
        else:
            self.branch = nn.Sequential(
                ConvNormAct(in_ch, width, 1),
                ConvNormAct(width, width, 3, stride),
                ConvNormAct(width, out_ch, 1, act=None, zero_norm=True),
            )
        shortcut: list[nn.Module] = []
        if stride != 1:
            shortcut.append(nn.AvgPool2d(stride, ceil_mode=True))
        if in_ch != out_ch:
            shortcut.append(ConvNormAct(in_ch, out_ch, 1, act=None))
        self.shortcut = nn.Sequential(*shortcut)  # empty: the identity
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.branch(x) + self.shortcut(x))


class XResNet(nn.Sequential):
    """An XResNet classifier: (B, in_chans, H, W) -> (B, num_classes) logits.

    Args:
        layers: the number of blocks in each of the four stages.
        expansion: 1 (basic blocks) or 4 (bottlenecks); stage widths are 64, 128, 256, 512
            times `expansion`.
        dropout: dropout probability before the final linear layer.
    """

    def __init__(
        self,
        layers: tuple[int, int, int, int],
        expansion: int = 1,
        num_classes: int = 1000,
        in_chans: int = 3,
        dropout: float = 0.0,
    ) -> None:
        check_positive_int("num_classes", num_classes)
        check_positive_int("in_chans", in_chans)
        if len(layers) != 4:
            raise ValueError(f"layers must give 4 stage depths, got {layers!r}")
        for depth in layers:
            check_positive_int("each entry of layers", depth)
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        parts: OrderedDict[str, nn.Module] = OrderedDict()
        parts["stem"] = nn.Sequential(
            ConvNormAct(in_chans, 32, 3, stride=2),
            ConvNormAct(32, 32, 3),
            ConvNormAct(32, 64, 3),
        )
        parts["maxpool"] = nn.MaxPool2d(3, 2, padding=1)
        in_ch = 64
        for index, (width, depth) in enumerate(zip((64, 128, 256, 512), layers, strict=True)):
            first = XResBlock(in_ch, width, 1 if index == 0 else 2, expansion)
            rest = [XResBlock(width * expansion, width, 1, expansion) for _ in range(depth - 1)]
            parts[f"stage{index + 1}"] = nn.Sequential(first, *rest)
            in_ch = width * expansion
        parts["pool"] = nn.AdaptiveAvgPool2d(1)
        parts["flatten"] = Flatten()
        parts["dropout"] = nn.Dropout(dropout)
        parts["fc"] = nn.Linear(in_ch, num_classes)
        super().__init__(parts)
        init_cnn(self)


@register("model", "xresnet18")
def xresnet18(num_classes: int = 1000, in_chans: int = 3, dropout: float = 0.0) -> XResNet:
    """XResNet-18: basic blocks (2, 2, 2, 2)."""
    return XResNet((2, 2, 2, 2), 1, num_classes, in_chans, dropout)


@register("model", "xresnet34")
def xresnet34(num_classes: int = 1000, in_chans: int = 3, dropout: float = 0.0) -> XResNet:
    """XResNet-34: basic blocks (3, 4, 6, 3)."""
    return XResNet((3, 4, 6, 3), 1, num_classes, in_chans, dropout)


@register("model", "xresnet50")
def xresnet50(num_classes: int = 1000, in_chans: int = 3, dropout: float = 0.0) -> XResNet:
    """XResNet-50: bottleneck blocks (3, 4, 6, 3)."""
    return XResNet((3, 4, 6, 3), 4, num_classes, in_chans, dropout)
