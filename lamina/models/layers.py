"""Small building blocks shared by the architectures: conv blocks, pooling, output ranges, init."""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from lamina.models._checks import check_positive_int
from lamina.models.small_map_conv import SmallMapConv2d


class ConvNormAct(nn.Sequential):
    """A 2-d convolution, then BatchNorm, then an activation; each part optional.

    Shapes: (B, in_ch, H, W) -> (B, out_ch, ceil(H / stride), ceil(W / stride)) for odd kernels.

    Args:
        kernel_size: odd sizes keep the spatial size at stride 1 ("same" padding).
        act: the activation class (built with no arguments), or None for none.
        norm: add a `BatchNorm2d` after the convolution.
        zero_norm: start the norm's scale at zero, so the block outputs zeros at first (used on
            the last block of a residual branch, which then starts as the identity).
        bias: give the convolution a bias; by default only when there is no norm to absorb it.
    """

    conv: nn.Conv2d  # the first child, registered by `nn.Sequential`

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        kernel_size: int = 3,
        stride: int = 1,
        act: type[nn.Module] | None = nn.ReLU,
        norm: bool = True,
        zero_norm: bool = False,
        bias: bool | None = None,
    ) -> None:
        for name, value in (("in_ch", in_ch), ("out_ch", out_ch)):
            check_positive_int(name, value)
        check_positive_int("kernel_size", kernel_size)
        check_positive_int("stride", stride)
        if zero_norm and not norm:
            raise ValueError("zero_norm=True needs norm=True: there is no norm to zero")
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        layers["conv"] = SmallMapConv2d(
            in_ch, out_ch, kernel_size, stride, padding=kernel_size // 2,
            bias=(not norm) if bias is None else bias,
        )  # fmt: skip
        if norm:
            norm_layer = nn.BatchNorm2d(out_ch)
            nn.init.constant_(norm_layer.weight, 0.0 if zero_norm else 1.0)
            layers["norm"] = norm_layer
        if act is not None:
            layers["act"] = act()
        super().__init__(layers)
        nn.init.kaiming_normal_(self.conv.weight, nonlinearity="relu")
        if self.conv.bias is not None:
            nn.init.zeros_(self.conv.bias)


class AdaptiveConcatPool2d(nn.Module):
    """Adaptive max pooling and average pooling, concatenated along channels.

    Shapes: (B, C, H, W) -> (B, 2C, size, size), max-pooled channels first.
    """

    def __init__(self, size: int = 1) -> None:
        super().__init__()
        check_positive_int("size", size)
        self.size = size
        self.max_pool = nn.AdaptiveMaxPool2d(size)
        self.avg_pool = nn.AdaptiveAvgPool2d(size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.size == 1:
            # The global case as plain reductions: the same values, faster, and every ONNX
            # exporter knows them (some torch releases cannot convert adaptive_max_pool2d).
            pooled = (x.amax(dim=(2, 3), keepdim=True), x.mean(dim=(2, 3), keepdim=True))
            return torch.cat(pooled, dim=1)
        return torch.cat([self.max_pool(x), self.avg_pool(x)], dim=1)


class Flatten(nn.Module):
    """Flatten all dimensions but the batch: (B, *) -> (B, prod(*))."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], -1)


def emb_sz_rule(n_cat: int) -> int:
    """Embedding width for a vocabulary of `n_cat` values: `min(600, round(1.6 * n_cat**0.56))`.

    The rule grows slower than the vocabulary (a 2-value column gets 2 dimensions, a 100-value
    one 21, a 10,000-value one 278) and caps at 600.
    """
    return min(600, round(1.6 * n_cat**0.56))


def sigmoid_range(x: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """Squash `x` into `(low, high)` with a sigmoid."""
    return torch.sigmoid(x) * (high - low) + low


class SigmoidRange(nn.Module):
    """Squash any input into the open interval (low, high) with a scaled sigmoid; shape kept."""

    def __init__(self, low: float, high: float) -> None:
        super().__init__()
        if not low < high:
            raise ValueError(f"SigmoidRange needs low < high, got low={low!r}, high={high!r}")
        self.low, self.high = float(low), float(high)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return sigmoid_range(x, self.low, self.high)

    def extra_repr(self) -> str:
        return f"low={self.low}, high={self.high}"


def init_cnn(module: nn.Module) -> nn.Module:
    """Kaiming-normal init for every conv and linear weight in `module`, zero biases.

    Norm layers are left alone, so zero-initialised norms stay zero. Returns `module`.
    """
    for layer in module.modules():
        if isinstance(layer, (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)):
            nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
    return module
