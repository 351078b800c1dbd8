"""The range a collab model squashes its predictions into, derived from the ratings or checked.

A model's sigmoid never reaches its bounds, so the default range is a little wider than the
ratings: from `low - span / 4` to `high + span / 8` (span = high - low), which for ratings 1 to
5 is the usual (0, 5.5). A range given by hand must cover every rating: a rating outside it
could never be predicted, and training would quietly pull the model against the wall.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

AUTO = "auto"


def rating_range_of(dls: Any) -> tuple[float, float]:
    """The lowest and highest rating of `dls`: the one recorded when it was built, else the
    ratings of its training batches (the last element of each)."""
    known = getattr(dls, "rating_range", None)
    if known is not None:
        return known
    low, high = float("inf"), float("-inf")
    for batch in dls.train:
        ratings = batch[-1].detach()
        if ratings.numel():
            low, high = min(low, float(ratings.min())), max(high, float(ratings.max()))
    if low > high:
        raise ValueError("the training DataLoader holds no ratings to derive y_range from")
    return low, high


def resolve_y_range(
    y_range: Sequence[float] | str | None, rating_range: tuple[float, float]
) -> tuple[float, float] | None:
    """`y_range` as `(low, high)`: derived from `rating_range` for "auto", checked to cover it
    when given, None (no squashing) for None."""
    if y_range is None:
        return None
    low, high = rating_range
    if isinstance(y_range, str):
        if y_range != AUTO:
            raise ValueError(f"y_range must be (low, high), 'auto' or None, got {y_range!r}")
        span = (high - low) or 1.0
        return low - span / 4, high + span / 8
    bounds = torch.as_tensor(y_range, dtype=torch.float64).tolist()
    if len(bounds) != 2 or not bounds[0] < bounds[1]:
        raise ValueError(f"y_range must be (low, high) with low < high, got {y_range!r}")
    if bounds[0] > low or bounds[1] < high:
        raise ValueError(
            f"y_range={tuple(y_range)!r} does not cover the ratings, which run from {low:g} to "
            f"{high:g}: predictions are squashed inside y_range, so the ratings outside it "
            f"could never be predicted. Leave y_range='auto' (here {_auto(low, high)}), pass a "
            "range a little wider than the ratings, or y_range=None for none"
        )
    return bounds[0], bounds[1]


def _auto(low: float, high: float) -> str:
    derived = resolve_y_range(AUTO, (low, high))
    assert derived is not None
    return f"({derived[0]:g}, {derived[1]:g})"
