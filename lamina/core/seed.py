"""Seeding and capturing every random number generator that training touches."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch


def set_seed(seed: int, deterministic: bool = False) -> None:
    """Seed Python, NumPy and torch (all devices); optionally ask for deterministic kernels."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False


def get_rng_state() -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Capture the state of every generator as (JSON-able values, tensors)."""
    np_kind, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    py_version, py_state, py_gauss = random.getstate()
    n_cuda = torch.cuda.device_count() if torch.cuda.is_available() else 0
    values: dict[str, Any] = {
        "python": {"version": py_version, "gauss": py_gauss},
        "numpy": {
            "kind": np_kind,
            "pos": int(np_pos),
            "has_gauss": int(np_has_gauss),
            "gauss": float(np_gauss),
        },
        "cuda_devices": n_cuda,
    }
    tensors = {
        "rng.python": torch.tensor(py_state, dtype=torch.int64),
        "rng.numpy": torch.from_numpy(np.asarray(np_keys, dtype=np.int64)),
        "rng.torch": torch.get_rng_state(),
    }
    for index in range(n_cuda):
        tensors[f"rng.cuda.{index}"] = torch.cuda.get_rng_state(index)
    return values, tensors


def set_rng_state(values: dict[str, Any], tensors: dict[str, torch.Tensor]) -> None:
    """Restore generators captured by `get_rng_state`."""
    py_state = tuple(int(v) for v in tensors["rng.python"].tolist())
    random.setstate((values["python"]["version"], py_state, values["python"]["gauss"]))
    np_info = values["numpy"]
    np.random.set_state(
        (
            np_info["kind"],
            tensors["rng.numpy"].numpy().astype(np.uint32),
            np_info["pos"],
            np_info["has_gauss"],
            np_info["gauss"],
        )
    )
    torch.set_rng_state(tensors["rng.torch"])
    available = torch.cuda.device_count() if torch.cuda.is_available() else 0
    for index in range(min(values.get("cuda_devices", 0), available)):
        torch.cuda.set_rng_state(tensors[f"rng.cuda.{index}"], index)
