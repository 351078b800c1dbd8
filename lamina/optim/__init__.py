"""Optimizers (on torch.optim) and schedules (pure functions of training progress)."""

from lamina.optim.hyper import get_hyper, has_hyper, set_hyper, spread_lr
from lamina.optim.optimizers import adam, adamw, sgd

__all__ = ["adam", "adamw", "get_hyper", "has_hyper", "set_hyper", "sgd", "spread_lr"]
