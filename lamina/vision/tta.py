"""Test-time augmentation: predictions averaged over randomly augmented copies of each item.

The augmented passes run the validation items through the *training* pipeline. A lamina loader
runs its item and batch transforms with its data set's `split_idx`, and random transforms
(random crops in `Resize`, `AffineWarp`, `Lighting`, ...) act only when it is 0. So `tta_loader`
makes a shallow copy of the validation data set with `split_idx = 0` and a loader over it in the
same order (`dl.new(dataset=..., shuffle=False, drop_last=False)`): every pass draws fresh random
augmentations from the global generators, and `lamina.set_seed` makes the passes repeatable.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from lamina.train.learner import Learner


def tta_loader(dl: Any) -> Any:
    """A loader over `dl`'s items, in the same order, with the training-time (random) transforms.

    `dl` must be a lamina `BlockDataLoader` (anything with `.dataset.split_idx` and `.new`).
    """
    dataset = getattr(dl, "dataset", None)
    if dataset is None or not (hasattr(dl, "new") and hasattr(dataset, "split_idx")):
        raise TypeError(
            "test-time augmentation needs a lamina BlockDataLoader (with .new and a dataset "
            f"that has split_idx), got {type(dl).__name__}"
        )
    augmented = copy.copy(dataset)
    augmented.split_idx = 0
    return dl.new(dataset=augmented, shuffle=False, drop_last=False)


def tta(
    learn: Learner,
    dl: Iterable | None = None,
    n: int = 4,
    beta: float | None = 0.25,
    use_max: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Predictions on the validation set (or `dl`) combined with `n` augmented passes.

    Returns `(preds, targs)`; preds are probabilities (the loss's activation). The plain pass
    runs first, then the `n` augmented ones, so a seed fixes every pass.

    Args:
        n: number of passes with the training augmentations.
        beta: weight of the augmented mean: `beta * mean(aug) + (1 - beta) * plain`. None
            returns the augmented mean alone.
        use_max: take the element-wise maximum over the plain and augmented passes instead.

    Example:
        >>> preds, targs = tta(learn, n=4)
        >>> (preds.argmax(1) == targs).float().mean()
    """
    if not (isinstance(n, int) and not isinstance(n, bool) and n >= 1):
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if beta is not None and not (isinstance(beta, (int, float)) and 0 <= beta <= 1):
        raise ValueError(f"beta must be a number in [0, 1] or None, got {beta!r}")
    dl = learn.dls.valid if dl is None else dl
    if dl is None:
        raise ValueError("there is no validation DataLoader: pass dl=")
    augmented_dl = tta_loader(dl)
    plain, targs = learn.get_preds(dl=dl)[:2]
    passes = torch.stack([learn.get_preds(dl=augmented_dl)[0] for _ in range(n)])  # (n, N, ...)
    if use_max:
        return torch.maximum(plain, passes.amax(dim=0)), targs
    mean = passes.mean(dim=0)
    if beta is None:
        return mean, targs
    return beta * mean + (1 - beta) * plain, targs
