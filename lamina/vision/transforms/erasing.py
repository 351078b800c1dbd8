"""Random erasing: rectangles of normalized training images replaced by Gaussian noise."""

from __future__ import annotations

import math
from typing import Any

import torch

from lamina.core.registry import register
from lamina.data.transform import Kinds, Transform


def erase_mask(boxes: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Bool `(B, H, W)`, true inside any of the boxes `(B, K, 4)` of (top, bottom, left, right).

    Bottom and right are exclusive, so a box with top == bottom covers nothing.
    """
    rows = torch.arange(height, device=boxes.device)
    cols = torch.arange(width, device=boxes.device)
    in_rows = (rows >= boxes[..., 0:1]) & (rows < boxes[..., 1:2])  # (B, K, H)
    in_cols = (cols >= boxes[..., 2:3]) & (cols < boxes[..., 3:4])  # (B, K, W)
    return (in_rows[..., :, None] & in_cols[..., None, :]).any(dim=1)


@register("transform")
class RandomErasing(Transform):
    """Replace random rectangles of training images with N(0, 1) noise (after `Normalize`).

    Each image is chosen with probability `p`; a chosen image gets between 1 and `max_count`
    rectangles whose areas together cover a fraction in [sl, sh] of it, each with a height /
    width ratio drawn log-uniformly in [min_aspect, 1 / min_aspect]. The noise matches normalized
    pixel statistics, hence `order` 100, after `Normalize`. Only images change.
    """

    split_idx = 0
    order = 100

    def __init__(
        self,
        p: float = 0.5,
        sl: float = 0.0,
        sh: float = 0.3,
        min_aspect: float = 0.3,
        max_count: int = 1,
    ) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be a probability in [0, 1], got {p!r}")
        if not 0.0 <= sl <= sh <= 1.0:
            raise ValueError(f"need 0 <= sl <= sh <= 1, got sl={sl!r} and sh={sh!r}")
        if not 0.0 < min_aspect <= 1.0:
            raise ValueError(f"min_aspect must be in (0, 1], got {min_aspect!r}")
        if not isinstance(max_count, int) or max_count < 1:
            raise ValueError(f"max_count must be a positive int, got {max_count!r}")
        self.p, self.sl, self.sh = float(p), float(sl), float(sh)
        self.min_aspect, self.max_count = float(min_aspect), max_count
        self._boxes: torch.Tensor | None = None
        self._erase: torch.Tensor | None = None

    def draw_boxes(self, batch_size: int, height: int, width: int) -> torch.Tensor:
        """Random boxes `(B, max_count, 4)` of (top, bottom, left, right), drawn on the CPU.

        Boxes of images not chosen, and beyond an image's count, are empty.
        """
        n, k = batch_size, self.max_count
        chosen = torch.rand(n) < self.p
        counts = torch.randint(1, k + 1, (n,))
        active = (torch.arange(k) < counts[:, None]) & chosen[:, None]  # (B, K)
        area = (self.sl + torch.rand(n, k) * (self.sh - self.sl)) * (height * width)
        area = area / counts[:, None]
        ratio = torch.exp((torch.rand(n, k) * 2 - 1) * math.log(1.0 / self.min_aspect))
        box_height = (area * ratio).sqrt().round().clamp(0, height) * active
        box_width = (area / ratio).sqrt().round().clamp(0, width)
        top = (torch.rand(n, k) * (height - box_height + 1)).floor()
        left = (torch.rand(n, k) * (width - box_width + 1)).floor()
        return torch.stack([top, top + box_height, left, left + box_width], dim=-1).long()

    def before_call(self, sample: tuple, kinds: Kinds) -> None:
        """Draw the boxes of every image of the batch."""
        images = [x for x, kind in zip(sample, kinds, strict=True) if kind == "image"]
        self._boxes = self._erase = None
        if images:
            batch_size, _, height, width = images[0].shape
            self._boxes = self.draw_boxes(batch_size, height, width)
            # Built on the CPU so that counting the erased pixels never waits for the device.
            self._erase = erase_mask(self._boxes, height, width)

    def encode(self, x: Any, kind: str) -> Any:
        if kind != "image" or self._erase is None:
            return x
        erase = self._erase
        if erase.shape[-2:] != x.shape[-2:]:  # a second image of another size in the sample
            assert self._boxes is not None, "drawn together with the erase mask"
            erase = erase_mask(self._boxes, *x.shape[-2:])
        count = int(erase.sum())
        if count == 0:
            return x
        # Noise for the erased pixels only: drawing it for the whole batch costs several times more.
        noise = torch.randn(count * x.shape[1], dtype=x.dtype, device=x.device)
        return x.masked_scatter(erase.to(x.device, non_blocking=True)[:, None], noise)

    def config(self) -> dict[str, Any]:
        return {
            "p": self.p,
            "sl": self.sl,
            "sh": self.sh,
            "min_aspect": self.min_aspect,
            "max_count": self.max_count,
        }
