"""Splitting nested state (optimizer and callback state dicts) into JSON and tensors.

safetensors stores flat name -> tensor maps; JSON stores everything else. `split_state` walks a
nested structure, moves each tensor into the flat map under its path, and leaves a reference in
the JSON part; `join_state` reverses it. Tuples and integer dictionary keys survive the trip.
"""

from __future__ import annotations

from typing import Any

import torch

_TENSOR, _TUPLE, _INT_KEYS = "__tensor__", "__tuple__", "__int_keys__"


def split_state(obj: Any, prefix: str, tensors: dict[str, torch.Tensor]) -> Any:
    """JSON-able copy of `obj` with every tensor moved into `tensors` under `prefix`."""
    if isinstance(obj, torch.Tensor):
        tensors[prefix] = obj
        return {_TENSOR: prefix}
    if isinstance(obj, dict):
        int_keys = bool(obj) and all(isinstance(key, int) for key in obj)
        body = {str(key): split_state(value, f"{prefix}.{key}", tensors)
                for key, value in obj.items()}  # fmt: skip
        return {_INT_KEYS: body} if int_keys else body
    if isinstance(obj, tuple):
        return {_TUPLE: [split_state(v, f"{prefix}.{i}", tensors) for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [split_state(v, f"{prefix}.{i}", tensors) for i, v in enumerate(obj)]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"cannot store a {type(obj).__name__} at {prefix!r} without pickle")


def join_state(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """Rebuild what `split_state` took apart."""
    if isinstance(obj, dict):
        if _TENSOR in obj:
            key = obj[_TENSOR]
            if key not in tensors:
                raise ValueError(f"the file lacks tensor {key!r}")
            return tensors[key]
        if _TUPLE in obj:
            return tuple(join_state(value, tensors) for value in obj[_TUPLE])
        if _INT_KEYS in obj:
            return {int(key): join_state(value, tensors) for key, value in obj[_INT_KEYS].items()}
        return {key: join_state(value, tensors) for key, value in obj.items()}
    if isinstance(obj, list):
        return [join_state(value, tensors) for value in obj]
    return obj
