"""A U-Net decoder built around any downsampling body (Ronneberger et al., 2015).

The skip connections are found, not declared: a dummy image runs through the body once, with
forward hooks recording each child's output size, and every child whose output is the last at
its resolution feeds a decoder block. The hooks are removed again; the forward pass itself
walks the body's children and keeps those outputs directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from lamina.core.registry import register
from lamina.models._checks import check_positive_int
from lamina.models.attention import SelfAttention
from lamina.models.body import Cut, Pretrained, create_body
from lamina.models.layers import ConvNormAct, SigmoidRange
from lamina.models.probe import child_output_shapes, dummy_input, input_channels
from lamina.models.upsample import PixelShuffleUpsample

_MAX_MIDDLE = 512  # channels of the decoder's middle block at most


class UnetBlock(nn.Module):
    """Upsample 2x, concatenate the BatchNorm'd skip, then two `ConvNormAct`.

    Shapes: x (B, up_ch, h, w), skip (B, skip_ch, H, W) -> (B, out_ch, H, W); the upsampled x is
    resized to (H, W) when odd input sizes make it differ from 2h x 2w.
    """

    def __init__(
        self,
        up_ch: int,
        skip_ch: int,
        out_ch: int,
        blur: bool = False,
        self_attention: bool = False,
    ) -> None:
        super().__init__()
        half = max(1, up_ch // 2)
        self.up = PixelShuffleUpsample(up_ch, half, blur=blur)
        self.skip_norm = nn.BatchNorm2d(skip_ch)
        self.conv1 = ConvNormAct(half + skip_ch, out_ch)
        self.conv2 = ConvNormAct(out_ch, out_ch)
        self.attention = SelfAttention(out_ch) if self_attention else nn.Identity()

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        up = _resize_to(self.up(x), skip)
        out = self.conv2(self.conv1(torch.cat([up, self.skip_norm(skip)], dim=1)))
        return self.attention(out)


def _resize_to(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    if x.shape[-2:] == like.shape[-2:]:
        return x
    return F.interpolate(x, size=like.shape[-2:], mode="nearest")


class DynamicUnet(nn.Module):
    """A U-Net on `body`: (B, n_in, H, W) -> (B, n_out, H, W), for any input size.

    Args:
        body: an `nn.Sequential` encoder that downsamples, e.g. from `create_body`.
        img_size: the (H, W) used to find the skip connections; other sizes work afterwards.
        blur: blur after each pixel-shuffle upsampling.
        self_attention: add `SelfAttention` to the third-last decoder block.
        y_range: (low, high) to squash the outputs into.
        last_cross: concatenate the input image before the final convs.

    Example:
        >>> unet = DynamicUnet(create_body("resnet18"), n_out=2, img_size=(64, 64))
        >>> unet(torch.randn(2, 3, 64, 64)).shape
        torch.Size([2, 2, 64, 64])
    """

    def __init__(
        self,
        body: nn.Sequential,
        n_out: int,
        img_size: int | Sequence[int] = (224, 224),
        blur: bool = False,
        self_attention: bool = False,
        y_range: Sequence[float] | None = None,
        last_cross: bool = True,
    ) -> None:
        super().__init__()
        if not isinstance(body, nn.Sequential) or len(body) == 0:
            raise TypeError(f"body must be a non-empty nn.Sequential, got {type(body).__name__}")
        check_positive_int("n_out", n_out)
        img_size = _pair(img_size)
        n_in = input_channels(body)
        shapes = child_output_shapes(body, dummy_input(body, img_size, n_in))
        if any(len(shape) != 4 for shape in shapes):
            raise ValueError("every child of body must output (B, C, H, W) feature maps")
        self.encoder = body
        self.skip_indices = _skip_indices(shapes)
        body_ch = int(shapes[-1][1])
        # Capping the width keeps wide bodies (2048 channels for resnet50) from making a decoder
        # several times the size of the encoder.
        channels = min(body_ch, _MAX_MIDDLE)
        self.middle = nn.Sequential(
            nn.BatchNorm2d(body_ch), ConvNormAct(body_ch, channels), ConvNormAct(channels, channels)
        )
        blocks = []
        attention_at = max(0, len(self.skip_indices) - 3)
        for number, index in enumerate(reversed(self.skip_indices)):
            skip_ch = int(shapes[index][1])
            out_ch = max(1, (max(1, channels // 2) + skip_ch) // 2)
            blocks.append(UnetBlock(channels, skip_ch, out_ch, blur,
                                    self_attention and number == attention_at))  # fmt: skip
            channels = out_ch
        self.up_blocks = nn.ModuleList(blocks)
        lowest = shapes[self.skip_indices[0]] if self.skip_indices else shapes[-1]
        needs_up = tuple(lowest[2:]) != img_size
        self.final_up = PixelShuffleUpsample(channels, blur=blur) if needs_up else nn.Identity()
        self.last_cross = last_cross
        cross_in = channels + n_in if last_cross else channels
        self.cross = nn.Sequential(ConvNormAct(cross_in, channels), ConvNormAct(channels, channels))
        self.final_conv = nn.Conv2d(channels, n_out, 1)
        self.y_range = SigmoidRange(*y_range) if y_range is not None else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        out = x
        for index, child in enumerate(self.encoder):
            out = child(out)
            if index in self.skip_indices:
                skips.append(out)
        out = self.middle(out)  # (B, C, h, w), the coarsest map
        for block, skip in zip(self.up_blocks, reversed(skips), strict=True):
            out = block(out, skip)
        out = _resize_to(self.final_up(out), x)  # (B, C', H, W)
        if self.last_cross:
            out = torch.cat([out, x], dim=1)
        return self.y_range(self.final_conv(self.cross(out)))


def _pair(size: int | Sequence[int]) -> tuple[int, int]:
    pair = (size, size) if isinstance(size, int) else tuple(size)
    if len(pair) != 2 or not all(isinstance(v, int) and v > 0 for v in pair):
        raise ValueError(f"img_size must be a positive int or (H, W), got {size!r}")
    return pair


def _skip_indices(shapes: Sequence[torch.Size]) -> tuple[int, ...]:
    # A child feeds a skip connection when the next child changes the spatial size.
    return tuple(i for i in range(len(shapes) - 1) if shapes[i][2:] != shapes[i + 1][2:])


@register("model", "unet")
def create_unet_model(
    arch: str | nn.Module,
    n_out: int,
    img_size: int | Sequence[int],
    pretrained: Pretrained = False,
    n_in: int = 3,
    cut: Cut = None,
    **unet_kwargs: Any,
) -> DynamicUnet:
    """A `DynamicUnet` on `create_body(arch, pretrained, n_in, cut)`; registered as `"unet"`.

    `unet_kwargs` go to `DynamicUnet` (blur, self_attention, y_range, last_cross).

    Example:
        >>> unet = create_unet_model("resnet18", n_out=2, img_size=(64, 64), n_in=1)
        >>> unet(torch.randn(2, 1, 64, 64)).shape
        torch.Size([2, 2, 64, 64])
    """
    return DynamicUnet(create_body(arch, pretrained, n_in, cut), n_out, img_size, **unet_kwargs)


def unet_split(model: DynamicUnet) -> list[list[nn.Parameter]]:
    """Parameter groups [encoder, decoder] of a `DynamicUnet`, for freezing the pretrained body."""
    encoder = list(model.encoder.parameters())
    seen = {id(param) for param in encoder}
    return [encoder, [param for param in model.parameters() if id(param) not in seen]]
