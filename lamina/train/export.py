"""Exporting a trained Learner to one safe file, and the hook applications use to rebuild it.

The file is a safetensors file: the model's tensors under `model.`, and JSON metadata:
`{"format": "lamina-export", "format_version": 1, "app": <name>, "spec": {...}}`. An application
(vision, tabular, collab, ...) sets `learn.export_spec` to a JSON-able dict that names its
architecture, arguments, vocab and inference pipeline, and registers a builder under kind "app"
with `@register("app", name)`: `builder(spec, model_tensors, device) -> Learner`.
`lamina.load_learner` looks the builder up by name; nothing in the file is ever executed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lamina.core.files import load_tensors_json, save_tensors_json
from lamina.core.modules import unwrap_model
from lamina.core.ranks import barrier, is_main_process

if TYPE_CHECKING:
    import torch

    from lamina.train.learner import Learner

FORMAT = "lamina-export"
FORMAT_VERSION = 1


def export_learner(learn: Learner, path: str | Path) -> Path:
    """Write `learn`'s weights and `learn.export_spec` to `path`, atomically (on rank 0)."""
    spec = getattr(learn, "export_spec", None)
    if not spec or "app" not in spec:
        raise ValueError(
            "this Learner has no export_spec: export needs a model that lamina can rebuild by "
            "name (made by vision_learner, tabular_learner, ...). For your own nn.Module, use "
            "learn.save(name) and rebuild the module in code before learn.load(name)."
        )
    try:
        json.dumps(spec)
    except TypeError as error:
        raise ValueError(f"export_spec must be JSON-able: {error}") from error
    if is_main_process():  # under DDP rank 0 writes; the others wait for the whole file
        _write_export(unwrap_model(learn.model), spec, path)
    barrier()
    return Path(path)


def _write_export(model: torch.nn.Module, spec: dict[str, Any], path: str | Path) -> None:
    from lamina import __version__

    spec = {**spec, "lamina_version": __version__}
    tensors = {f"model.{key}": value for key, value in model.state_dict().items()}
    info = {"format": FORMAT, "format_version": FORMAT_VERSION, "app": spec["app"], "spec": spec}
    save_tensors_json(path, tensors, info)


def read_export(path: str | Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Read and check an exported file: `(spec, model_tensors)`."""
    tensors, info = load_tensors_json(path)
    if info.get("format") != FORMAT:
        raise ValueError(f"{path} is not a lamina export (format {info.get('format')!r})")
    version = info.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ValueError(
            f"{path} has export format version {version!r}, newer than this lamina reads "
            f"({FORMAT_VERSION}); upgrade lamina"
        )
    model_tensors = {key[len("model.") :]: value for key, value in tensors.items()
                     if key.startswith("model.")}  # fmt: skip
    return info["spec"], model_tensors
