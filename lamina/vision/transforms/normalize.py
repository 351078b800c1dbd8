"""Batch transforms that always run: `IntToFloat` first, `Normalize` last.

Both work on whole collated batches, on whatever device the batch is on. Images are
`(B, C, H, W)`; masks, points and labels pass through untouched.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from lamina.core.registry import register
from lamina.data.transform import Transform

# (mean, std) per RGB channel of the ImageNet training set, for images scaled to [0, 1].
imagenet_stats: tuple[tuple[float, ...], tuple[float, ...]] = (
    (0.485, 0.456, 0.406),
    (0.229, 0.224, 0.225),
)


@register("transform")
class IntToFloat(Transform):
    """Integer images (uint8 `(B, C, H, W)`) to float32 divided by `div`, i.e. in [0, 1].

    Images already in a floating dtype are left alone. `decode` goes back to uint8: it multiplies
    by `div`, rounds and clamps to [0, 255], so a decoded batch holds the pixels the item stage
    produced (plus whatever augmentation changed).
    """

    order = 0

    def __init__(self, div: float = 255.0) -> None:
        if not div > 0:
            raise ValueError(f"div must be a positive number, got {div!r}")
        self.div = float(div)

    def encode(self, x: Any, kind: str) -> Any:
        if kind == "image" and not x.is_floating_point():
            return x.float().div_(self.div)
        return x

    def decode(self, x: Any, kind: str) -> Any:
        if kind == "image" and x.is_floating_point():
            return (x * self.div).round_().clamp_(0, 255).to(torch.uint8)
        return x

    def config(self) -> dict[str, Any]:
        return {"div": self.div}


@register("transform")
class Normalize(Transform):
    """Subtract `mean` and divide by `std` per channel of float images; `decode` undoes it.

    Args:
        mean: one value per channel, or a single value for all channels.
        std: as `mean`; every value must be positive.

    Example:
        >>> norm = Normalize.from_stats(*imagenet_stats)
    """

    order = 99

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        self.mean = tuple(float(value) for value in mean)
        self.std = tuple(float(value) for value in std)
        if not self.mean or len(self.mean) != len(self.std):
            raise ValueError(
                f"mean and std must be non-empty and of equal length, got mean={self.mean!r} "
                f"and std={self.std!r}"
            )
        if any(not value > 0 for value in self.std):
            raise ValueError(f"std values must all be positive, got std={self.std!r}")

    @classmethod
    def from_stats(cls, mean: Sequence[float], std: Sequence[float]) -> Normalize:
        """A `Normalize` from statistics, as in `Normalize.from_stats(*imagenet_stats)`."""
        return cls(mean, std)

    def _stats(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n_stats = len(self.mean)
        if n_stats != 1 and (x.ndim != 4 or x.shape[1] != n_stats):
            raise ValueError(
                f"Normalize has {n_stats} channel statistics but got images of shape "
                f"{tuple(x.shape)}; expected (B, {n_stats}, H, W)"
            )
        shape = (1, n_stats, 1, 1) if x.ndim == 4 else (n_stats,)
        mean = torch.tensor(self.mean, dtype=x.dtype).view(shape).to(x.device, non_blocking=True)
        std = torch.tensor(self.std, dtype=x.dtype).view(shape).to(x.device, non_blocking=True)
        return mean, std

    def encode(self, x: Any, kind: str) -> Any:
        if kind != "image":
            return x
        if not x.is_floating_point():
            raise TypeError(
                f"Normalize needs float images but got {x.dtype}; add IntToFloat to the batch "
                "transforms"
            )
        mean, std = self._stats(x)
        return (x - mean) / std

    def decode(self, x: Any, kind: str) -> Any:
        if kind != "image" or not x.is_floating_point():
            return x
        mean, std = self._stats(x)
        return x * std + mean

    def config(self) -> dict[str, Any]:
        return {"mean": list(self.mean), "std": list(self.std)}
