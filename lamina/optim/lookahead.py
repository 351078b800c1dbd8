"""`Lookahead`: k steps forward with any optimizer, then one step back towards slow weights
(Zhang et al., 2019, "Lookahead Optimizer: k steps forward, 1 step back")."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import torch


class Lookahead:
    """Wraps `inner` (any torch optimizer): every `k` of its steps, the slow weights move a
    fraction `alpha` towards the current (fast) weights, and the fast weights restart from there.

    It shares `param_groups` (the same list) and `state` with `inner`, so `set_hyper`, schedules
    and `zero_grad` reach the inner optimizer. Each group also holds `lookahead_step`, the number
    of steps taken. `state_dict()` is the inner optimizer's, with each parameter's slow weights
    added under `lookahead_slow`: tensors and plain numbers only.

    Example:
        >>> opt = Lookahead(torch.optim.RAdam(model.parameters(), lr=1e-3), k=6, alpha=0.5)
    """

    def __init__(self, inner: torch.optim.Optimizer, k: int = 6, alpha: float = 0.5) -> None:
        if not (hasattr(inner, "param_groups") and callable(getattr(inner, "step", None))):
            raise ValueError(f"inner must be a torch optimizer, got {inner!r}")
        if not (isinstance(k, int) and k >= 1):
            raise ValueError(f"k must be a positive integer, got {k!r}")
        if not (isinstance(alpha, (int, float)) and 0 < alpha <= 1):
            raise ValueError(f"alpha must be in (0, 1], got {alpha!r}")
        self.inner, self.k, self.alpha = inner, k, float(alpha)
        self.slow: dict[torch.Tensor, torch.Tensor] = {}
        for group in self.param_groups:
            group.setdefault("lookahead_step", 0)

    @property
    def param_groups(self) -> list[dict[str, Any]]:
        """The inner optimizer's parameter groups (the same list)."""
        return self.inner.param_groups

    @property
    def state(self) -> Any:
        """The inner optimizer's per-parameter state."""
        return self.inner.state

    @property
    def defaults(self) -> dict[str, Any]:
        """The inner optimizer's default hyper-parameters."""
        return self.inner.defaults

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients (see `torch.optim.Optimizer.zero_grad`)."""
        self.inner.zero_grad(set_to_none=set_to_none)

    def add_param_group(self, group: dict[str, Any]) -> None:
        """Add a parameter group to the inner optimizer."""
        self.inner.add_param_group(group)
        self.param_groups[-1].setdefault("lookahead_step", 0)

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> Any:
        """One inner step; every `k`-th step also pulls the weights back towards the slow ones."""
        for group in self.param_groups:
            for param in group["params"]:
                if param not in self.slow:  # slow weights start from the weights at first step
                    self.slow[param] = param.detach().clone()
        loss = self.inner.step(closure)  # torch optimizers run the closure with grad enabled
        for group in self.param_groups:
            group["lookahead_step"] += 1
            if group["lookahead_step"] % self.k == 0:
                fast = group["params"]
                slow = [self.slow[param] for param in fast]
                torch._foreach_lerp_(slow, fast, self.alpha)
                torch._foreach_copy_(fast, slow)
        return loss

    def state_dict(self) -> dict[str, Any]:
        """The inner state dict plus the slow weights (`lookahead_slow` per parameter)."""
        state_dict = self.inner.state_dict()
        params = [param for group in self.param_groups for param in group["params"]]
        state = {index: dict(values) for index, values in state_dict["state"].items()}
        for index, param in enumerate(params):
            if param in self.slow:
                state.setdefault(index, {})["lookahead_slow"] = self.slow[param]
        return {"state": state, "param_groups": state_dict["param_groups"]}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what `state_dict` returned (tensors are copied)."""
        params = [param for group in self.param_groups for param in group["params"]]
        inner_state, slow = {}, {}
        for index, values in state_dict["state"].items():
            values = dict(values)
            if "lookahead_slow" in values:
                param = params[int(index)]
                saved = values.pop("lookahead_slow")
                slow[param] = saved.detach().to(param.device, param.dtype, copy=True)
            if values:
                inner_state[index] = values
        groups = copy.deepcopy(state_dict["param_groups"])
        self.inner.load_state_dict({"state": inner_state, "param_groups": groups})
        self.slow = slow

    def __repr__(self) -> str:
        return f"Lookahead({self.inner!r}, k={self.k}, alpha={self.alpha})"
