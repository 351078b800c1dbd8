"""Optimizers (on torch.optim) and schedules (pure functions of training progress)."""

from lamina.optim.hyper import get_hyper, has_hyper, set_hyper, spread_lr
from lamina.optim.lamb import Lamb
from lamina.optim.lookahead import Lookahead
from lamina.optim.optimizers import adam, adamw, lamb, ranger, rmsprop, sgd
from lamina.optim.schedules import (
    combine_scheds,
    flat_cos_schedules,
    one_cycle_schedules,
    sched_cos,
    sched_exp,
    sched_lin,
    sched_no,
    sched_poly,
    sgdr_schedules,
)

__all__ = [
    "Lamb",
    "Lookahead",
    "adam",
    "adamw",
    "combine_scheds",
    "flat_cos_schedules",
    "get_hyper",
    "has_hyper",
    "lamb",
    "one_cycle_schedules",
    "ranger",
    "rmsprop",
    "sched_cos",
    "sched_exp",
    "sched_lin",
    "sched_no",
    "sched_poly",
    "set_hyper",
    "sgd",
    "sgdr_schedules",
    "spread_lr",
]
