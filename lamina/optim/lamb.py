"""`Lamb`: layer-wise adaptive moments (You et al., 2019, "Large Batch Optimization for Deep
Learning: Training BERT in 76 minutes"), which torch.optim lacks."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any, overload

import torch


def _check(lr: float, betas: tuple[float, float], eps: float, weight_decay: float) -> None:
    if not lr >= 0:
        raise ValueError(f"lr must be non-negative, got {lr!r}")
    if len(betas) != 2 or not all(0 <= beta < 1 for beta in betas):
        raise ValueError(f"betas must be two numbers in [0, 1), got {betas!r}")
    if not eps >= 0:
        raise ValueError(f"eps must be non-negative, got {eps!r}")
    if not weight_decay >= 0:
        raise ValueError(f"weight_decay must be non-negative, got {weight_decay!r}")


def _trust_ratios(
    weight_norms: Sequence[torch.Tensor], update_norms: Sequence[torch.Tensor]
) -> list[torch.Tensor]:
    """`||w|| / ||u||` per tensor, or 1 where either norm is 0 (a fresh zero-initialised bias)."""
    by_device: dict[torch.device, list[int]] = {}
    for index, norm in enumerate(weight_norms):
        by_device.setdefault(norm.device, []).append(index)
    ratios: list[torch.Tensor] = [torch.empty(0)] * len(weight_norms)
    for indices in by_device.values():
        w = torch.stack([weight_norms[i].float() for i in indices])  # (n,)
        u = torch.stack([update_norms[i].float() for i in indices])  # (n,)
        ratio = torch.where((w > 0) & (u > 0), w / u, torch.ones_like(w))
        for i, value in zip(indices, ratio.unbind(), strict=True):
            ratios[i] = value
    return ratios


class Lamb(torch.optim.Optimizer):
    """LAMB: an Adam step plus decoupled weight decay, rescaled per parameter tensor so that its
    norm is `lr * ||w||` (the trust ratio `||w|| / ||update||`).

    For each tensor `w` with gradient `g`, at step `t`:
        m = beta1 * m + (1 - beta1) * g;    v = beta2 * v + (1 - beta2) * g**2
        u = (m / (1 - beta1**t)) / (sqrt(v / (1 - beta2**t)) + eps) + weight_decay * w
        w = w - lr * (||w|| / ||u||) * u     (ratio 1 when either norm is 0)

    The moment updates and norms use torch's multi-tensor (`_foreach`) kernels over each group.
    The state per tensor is `step` (an int), `exp_avg` and `exp_avg_sq`.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-6,
        weight_decay: float = 0.0,
    ) -> None:
        _check(lr, betas, eps, weight_decay)
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay}
        super().__init__(params, defaults)

    @overload
    def step(self, closure: None = None) -> None: ...

    @overload
    def step(self, closure: Callable[[], float]) -> float: ...

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        """One update of every parameter that has a gradient."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            self._update_group(group)
        return loss

    def _gather(self, group: dict) -> tuple[list, list, list, list, list[int]]:
        params, grads, exp_avgs, exp_avg_sqs, steps = [], [], [], [], []
        for param in group["params"]:
            if param.grad is None:
                continue
            if param.grad.is_sparse:
                raise RuntimeError("Lamb does not support sparse gradients")
            state = self.state[param]
            if not state:
                state["step"] = 0
                state["exp_avg"] = torch.zeros_like(param, memory_format=torch.preserve_format)
                state["exp_avg_sq"] = torch.zeros_like(param, memory_format=torch.preserve_format)
            state["step"] += 1
            params.append(param)
            grads.append(param.grad)
            exp_avgs.append(state["exp_avg"])
            exp_avg_sqs.append(state["exp_avg_sq"])
            steps.append(state["step"])
        return params, grads, exp_avgs, exp_avg_sqs, steps

    def _update_group(self, group: dict) -> None:
        params, grads, exp_avgs, exp_avg_sqs, steps = self._gather(group)
        if not params:
            return
        beta1, beta2 = group["betas"]
        torch._foreach_lerp_(exp_avgs, grads, 1 - beta1)
        torch._foreach_mul_(exp_avg_sqs, beta2)
        torch._foreach_addcmul_(exp_avg_sqs, grads, grads, 1 - beta2)
        # steps may differ between tensors (one without a gradient skips a step), so the bias
        # corrections are per tensor
        denoms = torch._foreach_sqrt(exp_avg_sqs)
        torch._foreach_div_(denoms, [math.sqrt(1 - beta2**step) for step in steps])
        torch._foreach_add_(denoms, group["eps"])
        updates = torch._foreach_div(exp_avgs, denoms)
        torch._foreach_div_(updates, [1 - beta1**step for step in steps])
        if group["weight_decay"] != 0:
            torch._foreach_add_(updates, params, alpha=group["weight_decay"])
        ratios = _trust_ratios(torch._foreach_norm(params), torch._foreach_norm(updates))
        torch._foreach_mul_(updates, ratios)
        torch._foreach_add_(params, updates, alpha=-group["lr"])
