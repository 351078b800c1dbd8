"""Reading and setting optimizer hyper-parameters per parameter group, under common names.

lamina calls the learning rate `lr`, momentum (SGD's `momentum`, Adam's first beta) `mom`, the
second Adam beta `sqr_mom`, and weight decay `wd`; these map onto each torch optimizer's own keys.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch


def hyper_key(group: dict, name: str) -> tuple[str, int | None]:
    """Where `name` lives in a torch parameter group: (key, index within a tuple value or None)."""
    if name == "lr":
        return "lr", None
    if name == "wd":
        return "weight_decay", None
    if name == "mom":
        if "betas" in group:
            return "betas", 0
        if "momentum" in group:
            return "momentum", None
        if "alpha" in group:  # RMSprop's smoothing constant plays momentum's part
            return "alpha", None
    if name == "sqr_mom" and "betas" in group:
        return "betas", 1
    if name in group:
        return name, None
    raise KeyError(f"optimizer parameter groups have no hyper-parameter {name!r}")


def has_hyper(opt: torch.optim.Optimizer, name: str) -> bool:
    """Whether every parameter group of `opt` has hyper-parameter `name`."""
    try:
        for group in opt.param_groups:
            hyper_key(group, name)
    except KeyError:
        return False
    return True


def get_hyper(opt: torch.optim.Optimizer, name: str) -> list[float]:
    """The value of `name` in each parameter group."""
    values = []
    for group in opt.param_groups:
        key, index = hyper_key(group, name)
        value = group[key]
        values.append(float(value[index] if index is not None else value))
    return values


def set_hyper(
    opt: torch.optim.Optimizer, name: str, value: float | Sequence[float] | np.ndarray
) -> None:
    """Set `name` in every parameter group: one value for all, or one per group."""
    groups = opt.param_groups
    # Plain Python floats: this runs every batch under a schedule, where NumPy calls add up.
    if isinstance(value, np.ndarray):
        values = value.reshape(-1).tolist()
    elif isinstance(value, (int, float)):
        values = [float(value)]
    else:
        values = [float(item) for item in value]
    if len(values) == 1:
        values = values * len(groups)
    if len(values) != len(groups):
        raise ValueError(f"{len(values)} values of {name!r} for {len(groups)} parameter groups")
    for group, item in zip(groups, values, strict=True):
        key, index = hyper_key(group, name)
        if index is None:
            if isinstance(group[key], torch.Tensor):
                group[key].fill_(item)  # tensor lr (capturable/fused optimizers) keeps its identity
            else:
                group[key] = item
        else:
            pair = list(group[key])
            pair[index] = item
            group[key] = tuple(pair)


def spread_lr(lr: float | slice | Sequence[float], n_groups: int) -> np.ndarray:
    """Per-group learning rates for discriminative training.

    A float gives every group that rate; `slice(hi)` gives the last group `hi` and the others
    `hi / 10`; `slice(lo, hi)` spaces the rates geometrically from `lo` to `hi`; a sequence is
    taken as it is.
    """
    if isinstance(lr, slice):
        if lr.stop is None:
            raise ValueError(f"lr slice needs an upper rate, got {lr!r}")
        if lr.start is None:
            rates = np.full(n_groups, lr.stop / 10)
            rates[-1] = lr.stop
        elif n_groups == 1:
            rates = np.array([lr.stop], dtype=float)
        else:
            rates = np.geomspace(lr.start, lr.stop, n_groups)
    else:
        rates = np.broadcast_to(np.asarray(lr, dtype=float), (n_groups,)).copy()
        if rates.shape != (n_groups,):
            raise ValueError(f"{len(rates)} learning rates given for {n_groups} parameter groups")
    if not np.all(np.isfinite(rates)) or np.any(rates <= 0):
        raise ValueError(f"learning rates must be positive and finite, got {rates.tolist()}")
    return rates
