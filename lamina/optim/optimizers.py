"""Optimizer factories with one signature, `opt_func(param_groups, lr, wd, ...) -> Optimizer`.

They wrap torch.optim, asking by default for its multi-tensor (`foreach`) kernels, the fast path
on every device; `impl="fused"` picks the fused kernels where torch has them (SGD, Adam, AdamW)
and `impl="loop"` the plain per-parameter code. `lamb` and `ranger` build lamina's own `Lamb` and
`Lookahead`, which torch lacks.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

from lamina.core.registry import register
from lamina.optim.lamb import Lamb
from lamina.optim.lookahead import Lookahead

ParamGroups = Iterable[Any]
IMPLS = ("foreach", "fused", "loop")


def _kernel(impl: str, fused_ok: bool = True) -> dict[str, bool]:
    """torch.optim's `foreach`/`fused` flags for `impl`."""
    allowed = IMPLS if fused_ok else tuple(name for name in IMPLS if name != "fused")
    if impl not in allowed:
        raise ValueError(f"impl must be one of {allowed}, got {impl!r}")
    if impl == "fused":
        return {"fused": True}
    return {"foreach": impl == "foreach"}


@register("optimizer", "sgd")
def sgd(
    params: ParamGroups,
    lr: float,
    wd: float = 0.0,
    mom: float = 0.9,
    nesterov: bool = False,
    impl: str = "foreach",
) -> torch.optim.Optimizer:
    """SGD with momentum; `wd` is L2 weight decay as in torch.optim.SGD."""
    return torch.optim.SGD(
        params, lr=lr, momentum=mom, weight_decay=wd, nesterov=nesterov, **_kernel(impl)
    )


@register("optimizer", "adam")
def adam(
    params: ParamGroups,
    lr: float,
    wd: float = 0.0,
    mom: float = 0.9,
    sqr_mom: float = 0.99,
    eps: float = 1e-5,
    impl: str = "foreach",
) -> torch.optim.Optimizer:
    """Adam with L2 weight decay (use `adamw` for decoupled decay)."""
    return torch.optim.Adam(
        params, lr=lr, betas=(mom, sqr_mom), eps=eps, weight_decay=wd, **_kernel(impl)
    )


@register("optimizer", "adamw")
def adamw(
    params: ParamGroups,
    lr: float,
    wd: float = 0.01,
    mom: float = 0.9,
    sqr_mom: float = 0.99,
    eps: float = 1e-5,
    impl: str = "foreach",
) -> torch.optim.Optimizer:
    """AdamW: Adam with decoupled weight decay. lamina's default optimizer."""
    return torch.optim.AdamW(
        params, lr=lr, betas=(mom, sqr_mom), eps=eps, weight_decay=wd, **_kernel(impl)
    )


@register("optimizer", "rmsprop")
def rmsprop(
    params: ParamGroups,
    lr: float,
    wd: float = 0.0,
    mom: float = 0.0,
    sqr_mom: float = 0.99,
    eps: float = 1e-8,
    centered: bool = False,
    impl: str = "foreach",
) -> torch.optim.Optimizer:
    """RMSprop: steps scaled by a running RMS of gradients (smoothing `sqr_mom`), with optional
    momentum `mom` and L2 weight decay `wd`.

    A momentum schedule (as in `fit_one_cycle`) sets `mom`, turning momentum on.
    """
    return torch.optim.RMSprop(
        params,
        lr=lr,
        alpha=sqr_mom,
        eps=eps,
        weight_decay=wd,
        momentum=mom,
        centered=centered,
        **_kernel(impl, fused_ok=False),
    )


@register("optimizer", "lamb")
def lamb(
    params: ParamGroups,
    lr: float,
    wd: float = 0.01,
    mom: float = 0.9,
    sqr_mom: float = 0.99,
    eps: float = 1e-6,
) -> Lamb:
    """LAMB: Adam's step rescaled per parameter by a trust ratio, for large batches."""
    return Lamb(params, lr=lr, betas=(mom, sqr_mom), eps=eps, weight_decay=wd)


@register("optimizer", "ranger")
def ranger(
    params: ParamGroups,
    lr: float,
    wd: float = 0.01,
    mom: float = 0.95,
    sqr_mom: float = 0.99,
    eps: float = 1e-6,
    k: int = 6,
    alpha: float = 0.5,
    impl: str = "foreach",
) -> Lookahead:
    """Ranger: RAdam (decoupled weight decay) inside `Lookahead(k, alpha)`."""
    inner = torch.optim.RAdam(
        params,
        lr=lr,
        betas=(mom, sqr_mom),
        eps=eps,
        weight_decay=wd,
        decoupled_weight_decay=True,
        **_kernel(impl, fused_ok=False),
    )
    return Lookahead(inner, k=k, alpha=alpha)
