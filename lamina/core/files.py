"""Safe files: atomic writes, and tensors plus JSON in one safetensors file (never pickle)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

METADATA_KEY = "lamina"


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it is renamed over `path` in one step.

    A crash or interrupt while writing leaves any previous file untouched and no partial file.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    # The temporary keeps the final suffix: some writers (torch.export) check it.
    handle, temporary = tempfile.mkstemp(
        prefix=f".{final.name}.", suffix=f".tmp{final.suffix}", dir=final.parent
    )
    os.close(handle)
    try:
        yield Path(temporary)
        os.replace(temporary, final)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def save_tensors_json(
    path: str | os.PathLike, tensors: dict[str, torch.Tensor], info: dict[str, Any]
) -> Path:
    """Write `tensors` and the JSON-able `info` to one safetensors file, atomically."""
    from safetensors.torch import save_file

    contiguous, seen = {}, set()
    for key, value in tensors.items():
        value = value.detach().cpu().contiguous()
        if value.untyped_storage().data_ptr() in seen and value.numel():
            value = value.clone()  # safetensors refuses tensors that share memory (tied weights)
        seen.add(value.untyped_storage().data_ptr())
        contiguous[key] = value
    with atomic_path(path) as temporary:
        save_file(contiguous, str(temporary), metadata={METADATA_KEY: json.dumps(info)})
    return Path(path)


def load_tensors_json(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read a file written by `save_tensors_json`. Parses tensors and JSON only; runs no code."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
    except SafetensorError as error:
        raise ValueError(f"{path} is not a valid lamina/safetensors file: {error}") from error
    if METADATA_KEY not in metadata:
        raise ValueError(f"{path} holds no lamina metadata; was it written by lamina?")
    try:
        info = json.loads(metadata[METADATA_KEY])
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: its lamina metadata is not valid JSON ({error})") from error
    return tensors, info
