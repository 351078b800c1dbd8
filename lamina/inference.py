"""`load_learner`: rebuild an exported Learner for inference, safely."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from lamina.core.device import default_device
from lamina.core.registry import lookup
from lamina.train.export import read_export


def load_learner(
    path: str | Path, device: torch.device | str | None = None, cpu: bool | None = None
) -> Any:
    """Rebuild a Learner written by `learn.export(path)`.

    The file is parsed as tensors and JSON only: architecture, transforms and decoding are looked
    up by name in lamina's registry, so opening a file never runs code from it. Unknown names,
    missing or mis-shaped tensors, bad JSON and newer format versions raise a clear error.

    Args:
        device: where the learner runs (default: the best device present).
        cpu: fastai's spelling: True is `device="cpu"`, False the best device present (CUDA
            when there is one). Give `device` or `cpu`, not both. Unlike fastai, leaving both
            out picks the best device, not the CPU.

    Example:
        >>> learn = load_learner("export.lamina", cpu=True)
    """
    import lamina.applications  # noqa: F401  (registers every application's builder)
    from lamina import __version__

    if cpu is not None:
        if device is not None:
            raise ValueError(
                f"load_learner got both device={device!r} and cpu={cpu!r}: give one (cpu=True "
                "is device='cpu')"
            )
        if not isinstance(cpu, bool):
            raise ValueError(f"cpu must be True or False, got {cpu!r}")
        device = "cpu" if cpu else default_device()

    spec, tensors = read_export(path)
    written_by = spec.get("lamina_version", "0.1 or earlier")
    try:
        builder = lookup("app", spec["app"])
    except KeyError as error:
        raise ValueError(
            f"{path} was written by lamina {written_by} for the application {spec['app']!r}, "
            f"which lamina {__version__} does not have ({error.args[0]}); re-export it with "
            f"lamina {__version__}"
        ) from None
    try:
        return builder(spec, tensors, torch.device(device) if device is not None else None)
    except ValueError as error:
        if str(path) in str(error):
            raise
        raise ValueError(f"{path}: {error}") from None
    except (KeyError, TypeError) as error:
        # A spec field this version does not understand (older or newer layout).
        raise ValueError(
            f"{path} was written by lamina {written_by} and cannot be rebuilt by lamina "
            f"{__version__} ({type(error).__name__}: {error}); re-export it with lamina "
            f"{__version__}"
        ) from None
