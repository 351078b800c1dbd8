"""Choosing a device and moving nested batches onto it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch


def default_device() -> torch.device:
    """The best device present: CUDA, then Apple's MPS, else the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def to_device(batch: Any, device: torch.device | str | None) -> Any:
    """Move every tensor in a nested tuple/list/dict to `device` (no copy when already there)."""
    if device is None:
        return batch
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, (tuple, list)):
        return type(batch)(to_device(item, device) for item in batch)
    if isinstance(batch, Mapping):
        return {key: to_device(value, device) for key, value in batch.items()}
    return batch


def detach_cpu(batch: Any) -> Any:
    """Detach every tensor in a nested structure and bring it to the CPU."""
    if isinstance(batch, torch.Tensor):
        return batch.detach().cpu()
    if isinstance(batch, (tuple, list)):
        return type(batch)(detach_cpu(item) for item in batch)
    if isinstance(batch, Mapping):
        return {key: detach_cpu(value) for key, value in batch.items()}
    return batch
