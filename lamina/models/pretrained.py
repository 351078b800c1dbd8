"""Load a state dict into a model with strict matching and an error that says what differs."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

_SHOWN = 10  # names listed per kind of mismatch before "... and N more"


def load_weights(model: nn.Module, state_dict: Mapping[str, torch.Tensor]) -> nn.Module:
    """Copy `state_dict` into `model`; every name and shape must match exactly.

    Raises a `ValueError` listing the missing keys, the unexpected keys and each tensor whose
    shape differs (with both shapes), so a checkpoint for another architecture is caught before
    any weight is copied. Returns `model`.
    """
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"state_dict must be a mapping of names to tensors, got {type(state_dict)}")
    expected = model.state_dict()
    problems = []
    missing = [key for key in expected if key not in state_dict]
    unexpected = [key for key in state_dict if key not in expected]
    mismatched = [
        f"{key}: checkpoint {tuple(state_dict[key].shape)}, model {tuple(value.shape)}"
        for key, value in expected.items()
        if key in state_dict and tuple(state_dict[key].shape) != tuple(value.shape)
    ]
    for label, items in (("missing keys", missing), ("unexpected keys", unexpected),
                         ("shape mismatches", mismatched)):  # fmt: skip
        if items:
            more = f", ... and {len(items) - _SHOWN} more" if len(items) > _SHOWN else ""
            problems.append(f"{len(items)} {label}: {', '.join(items[:_SHOWN])}{more}")
    if problems:
        raise ValueError(
            f"state dict does not match {type(model).__name__}:\n  " + "\n  ".join(problems)
        )
    model.load_state_dict(state_dict, strict=True)
    return model
