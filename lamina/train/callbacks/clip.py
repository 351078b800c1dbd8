"""`GradientClip`: clip the global gradient norm before each optimizer step."""

from __future__ import annotations

import math

import torch

from lamina.train.callback import Callback
from lamina.train.callbacks.mixed_precision import MixedPrecision


class GradientClip(Callback):
    """Rescales all gradients so their global norm is at most `max_norm` before each step.

    Args:
        max_norm: the largest global gradient norm allowed.
        norm_type: the p of the p-norm (`math.inf` for the largest absolute value).

    With `MixedPrecision` in float16 the gradients are first unscaled (`scaler.unscale_`), so
    the norm is that of the true gradients. The last norm before clipping is kept in `self.norm`
    as a tensor on the device (reading it forces a sync).
    """

    order = 30  # after GradientAccumulation decides to step, before MixedPrecision steps
    run_valid = False

    def __init__(self, max_norm: float = 1.0, norm_type: float = 2.0) -> None:
        if not isinstance(max_norm, (int, float)) or not 0 < max_norm < math.inf:
            raise ValueError(f"max_norm must be a positive finite number, got {max_norm!r}")
        if not isinstance(norm_type, (int, float)) or not norm_type > 0:
            raise ValueError(f"norm_type must be a positive number or math.inf, got {norm_type!r}")
        self.max_norm, self.norm_type = float(max_norm), float(norm_type)
        self.norm: torch.Tensor | None = None

    def before_step(self) -> None:
        opt = self.learn.opt
        assert opt is not None  # fit builds the optimizer before any event
        for cb in self.learn.cbs:
            if isinstance(cb, MixedPrecision) and cb.scaler is not None:
                cb.scaler.unscale_(opt)
        params = [p for group in opt.param_groups for p in group["params"] if p.grad is not None]
        self.norm = torch.nn.utils.clip_grad_norm_(params, self.max_norm, self.norm_type)
