"""Random brightness, contrast and saturation of training batches, composed in one pass."""

from __future__ import annotations

import math
from typing import Any

import torch

from lamina.core.registry import register
from lamina.data.transform import Kinds, Transform

# ITU-R BT.601 luma weights, for the grey image that saturation blends towards.
LUMA_WEIGHTS = (0.299, 0.587, 0.114)


def _log_uniform(n: int, magnitude: float) -> torch.Tensor:
    """`(n,)` factors with log uniform in [log(1 - magnitude), -log(1 - magnitude)]."""
    bound = -math.log(1.0 - magnitude)
    return torch.exp((torch.rand(n) * 2 - 1) * bound)


def adjust_lighting(
    images: torch.Tensor,
    brightness: torch.Tensor,
    contrast: torch.Tensor,
    saturation: torch.Tensor | None = None,
) -> torch.Tensor:
    """Change brightness, contrast (and saturation) of float images `(B, C, H, W)` in [0, 1].

    Brightness and contrast are linear, `clamp((x - 0.5) * contrast + brightness, 0, 1)`: one
    fused multiply-add and a clamp, cheap enough for the CPU data path (a logit-space version
    cost several times more there). Brightness 0.5 and contrast 1 change nothing.
    Saturation first blends each RGB image with its grey version (factor 0: grey, 1: unchanged)
    and is skipped for images that do not have 3 channels.

    Args:
        brightness: `(B,)` in (0, 1).
        contrast: `(B,)` positive factors.
        saturation: `(B,)` non-negative factors, or None.
    """
    if saturation is not None and images.shape[1] == 3:
        weights = torch.tensor(LUMA_WEIGHTS, dtype=images.dtype, device=images.device)
        grey = torch.einsum("bchw,c->bhw", images, weights)[:, None]  # (B, 1, H, W)
        factor = saturation.to(images).view(-1, 1, 1, 1)
        images = torch.lerp(grey, images, factor).clamp_(0.0, 1.0)
    # Per-image factors computed where they were drawn, then moved in one copy.
    factors = torch.stack([contrast, brightness - 0.5 * contrast]).to(images)
    scale, shift = factors.view(2, -1, 1, 1, 1)
    # Multiply, then add and clamp in place: one new tensor, and on the CPU several times faster
    # than an addcmul whose first operand is the broadcast shift.
    return (images * scale).add_(shift).clamp_(0.0, 1.0)


# brightness, contrast, saturation (None: unchanged), changed; each (B,)
_Params = tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor]


@register("transform")
class Lighting(Transform):
    """Random brightness and contrast (and saturation) for training images, one pass per batch.

    For each image, with probability `p_lighting` each and independently: brightness drawn in
    0.5 +- max_lighting / 2, contrast and saturation factors drawn log-uniformly in
    [1 - max, 1 / (1 - max)]. See `adjust_lighting` for the formula. Images that
    drew no change are returned bit for bit; masks, points and labels are untouched.
    """

    split_idx = 0
    order = 40

    def __init__(
        self, max_lighting: float = 0.2, p_lighting: float = 0.75, max_saturation: float = 0.0
    ) -> None:
        for name, value in (("max_lighting", max_lighting), ("max_saturation", max_saturation)):
            if not 0.0 <= value < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {value!r}")
        if not 0.0 <= p_lighting <= 1.0:
            raise ValueError(f"p_lighting must be a probability in [0, 1], got {p_lighting!r}")
        self.max_lighting, self.p_lighting = float(max_lighting), float(p_lighting)
        self.max_saturation = float(max_saturation)
        self._params: _Params | None = None

    def draw_params(self, batch_size: int) -> _Params:
        """`(brightness, contrast, saturation or None, changed)`, each `(B,)`, drawn on the CPU."""
        n = batch_size
        changed = torch.zeros(n, dtype=torch.bool)
        brightness, contrast, saturation = torch.full((n,), 0.5), torch.ones(n), None
        if self.max_lighting > 0:
            chosen = torch.rand(n) < self.p_lighting
            drawn = 0.5 + (torch.rand(n) - 0.5) * self.max_lighting
            brightness = torch.where(chosen, drawn, brightness)
            changed |= chosen
            chosen = torch.rand(n) < self.p_lighting
            contrast = torch.where(chosen, _log_uniform(n, self.max_lighting), contrast)
            changed |= chosen
        if self.max_saturation > 0:
            chosen = torch.rand(n) < self.p_lighting
            saturation = torch.where(chosen, _log_uniform(n, self.max_saturation), 1.0)
            changed |= chosen
        return brightness, contrast, saturation, changed

    def before_call(self, sample: tuple, kinds: Kinds) -> None:
        """Draw one set of parameters per image of the batch."""
        images = [x for x, kind in zip(sample, kinds, strict=True) if kind == "image"]
        self._params = self.draw_params(len(images[0])) if images else None

    def encode(self, x: Any, kind: str) -> Any:
        if kind != "image" or self._params is None:
            return x
        brightness, contrast, saturation, changed = self._params
        if not changed.any():
            return x
        if not x.is_floating_point():
            raise TypeError(
                f"Lighting needs float images in [0, 1] but got {x.dtype}; add IntToFloat to the "
                "batch transforms"
            )
        out = adjust_lighting(x, brightness, contrast, saturation)
        if not changed.all():
            # Copy back the few images that drew no change (cheaper than a masked select).
            kept = (~changed).nonzero().flatten().to(x.device)
            out[kept] = x[kept]
        return out

    def config(self) -> dict[str, Any]:
        return {
            "max_lighting": self.max_lighting,
            "p_lighting": self.p_lighting,
            "max_saturation": self.max_saturation,
        }
