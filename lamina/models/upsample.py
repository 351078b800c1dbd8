"""Learned 2x upsampling by sub-pixel convolution, initialised to avoid checkerboard artefacts."""

from __future__ import annotations

import torch
from torch import nn

from lamina.models._checks import check_positive_int
from lamina.models.layers import ConvNormAct


def icnr_(weight: torch.Tensor, scale: int = 2) -> torch.Tensor:
    """ICNR init (Aitken et al., 2017) of a conv weight feeding `nn.PixelShuffle(scale)`, in place.

    `weight` has shape (C * scale**2, in, kh, kw). One kernel per output channel C is drawn
    (Kaiming normal) and copied to the scale**2 sub-pixel positions that PixelShuffle
    interleaves, so at init the upsampling equals conv-then-nearest-neighbour: no checkerboard.
    """
    out_ch = weight.shape[0]
    if out_ch % (scale * scale):
        raise ValueError(f"weight has {out_ch} output channels, not a multiple of {scale}**2")
    base = torch.empty(out_ch // scale**2, *weight.shape[1:], dtype=weight.dtype)
    nn.init.kaiming_normal_(base, nonlinearity="relu")
    with torch.no_grad():
        # PixelShuffle takes channel c * scale**2 + i to sub-pixel i of output channel c.
        weight.copy_(base.repeat_interleave(scale * scale, dim=0))
    return weight


class PixelShuffleUpsample(nn.Sequential):
    """1x1 conv, ReLU and PixelShuffle, ICNR-initialised; optional blur.

    Shapes: (B, in_ch, H, W) -> (B, out_ch, scale * H, scale * W).

    Args:
        blur: average each output pixel with its up-left neighbours (replication pad, then a
            2x2 stride-1 average pool), which further smooths checkerboard patterns.
    """

    def __init__(
        self, in_ch: int, out_ch: int | None = None, scale: int = 2, blur: bool = False
    ) -> None:
        out_ch = in_ch if out_ch is None else out_ch
        check_positive_int("out_ch", out_ch)
        check_positive_int("scale", scale)
        conv = ConvNormAct(in_ch, out_ch * scale * scale, 1, norm=False)
        layers: list[nn.Module] = [conv, nn.PixelShuffle(scale)]
        if blur:
            layers += [nn.ReplicationPad2d((1, 0, 1, 0)), nn.AvgPool2d(2, stride=1)]
        super().__init__(*layers)
        icnr_(conv.conv.weight, scale)
