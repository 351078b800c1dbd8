"""Optimizer factories with one signature, `opt_func(param_groups, lr, wd) -> Optimizer`.

They wrap torch.optim, asking for its multi-tensor (`foreach`) kernels, which are the fast path
on every device.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

from lamina.core.registry import register

ParamGroups = Iterable[Any]


@register("optimizer", "sgd")
def sgd(
    params: ParamGroups, lr: float, wd: float = 0.0, mom: float = 0.9, nesterov: bool = False
) -> torch.optim.Optimizer:
    """SGD with momentum; `wd` is L2 weight decay as in torch.optim.SGD."""
    return torch.optim.SGD(
        params, lr=lr, momentum=mom, weight_decay=wd, nesterov=nesterov, foreach=True
    )


@register("optimizer", "adam")
def adam(
    params: ParamGroups,
    lr: float,
    wd: float = 0.0,
    mom: float = 0.9,
    sqr_mom: float = 0.99,
    eps: float = 1e-5,
) -> torch.optim.Optimizer:
    """Adam with L2 weight decay (use `adamw` for decoupled decay)."""
    return torch.optim.Adam(
        params, lr=lr, betas=(mom, sqr_mom), eps=eps, weight_decay=wd, foreach=True
    )


@register("optimizer", "adamw")
def adamw(
    params: ParamGroups,
    lr: float,
    wd: float = 0.01,
    mom: float = 0.9,
    sqr_mom: float = 0.99,
    eps: float = 1e-5,
) -> torch.optim.Optimizer:
    """AdamW: Adam with decoupled weight decay. lamina's default optimizer."""
    return torch.optim.AdamW(
        params, lr=lr, betas=(mom, sqr_mom), eps=eps, weight_decay=wd, foreach=True
    )
