"""`lamina info MODEL`: what an export holds, read from its header without building anything.

Only the safetensors header is parsed (JSON metadata, tensor names, shapes and dtypes): no
tensor is loaded, no model is built and no registered name is looked up.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

_DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1,
                "U8": 1, "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1}  # fmt: skip


def read_header(path: str | Path) -> tuple[dict[str, Any], dict[str, tuple[list[int], str]]]:
    """The lamina metadata of an export and `{tensor name: (shape, dtype)}`, tensors unread."""
    from safetensors import SafetensorError, safe_open

    from lamina.core.files import METADATA_KEY
    from lamina.train.export import FORMAT

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            slices = {key: handle.get_slice(key) for key in handle.keys()}  # noqa: SIM118
            shapes = {key: (list(s.get_shape()), s.get_dtype()) for key, s in slices.items()}
    except SafetensorError as error:
        raise ValueError(
            f"{path} is not a lamina export (not a safetensors file: {error})"
        ) from None
    try:
        info = json.loads(metadata.get(METADATA_KEY, "null"))
    except (json.JSONDecodeError, RecursionError) as error:
        raise ValueError(f"{path}: its lamina metadata is not readable JSON ({error})") from None
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        raise ValueError(f"{path} is not a lamina export (no {FORMAT!r} metadata)")
    if not isinstance(info.get("spec"), dict):
        raise ValueError(f"{path}: its export metadata has no spec")
    return info, shapes


def _names(entries: Any) -> list[str]:
    """`[{"name": ..., "args": ...}, ...]` -> readable `name(arg=value, ...)` strings."""
    out = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        args: dict[str, Any] = entry["args"] if isinstance(entry.get("args"), dict) else {}
        shown = ", ".join(f"{key}={json.dumps(value)}" for key, value in args.items()
                          if len(json.dumps(value)) <= 60)  # fmt: skip
        out.append(f"{entry.get('name')}({shown})")
    return out


def _block_data(spec: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = spec["data"] if isinstance(spec.get("data"), dict) else {}
    size = None
    for entry in data.get("item_tfms") or []:
        if isinstance(entry, dict) and entry.get("name") in ("Resize", "RandomResizedCrop"):
            size = (entry.get("args") or {}).get("size")
    n_inp = data.get("n_inp", 1) if isinstance(data.get("n_inp"), int) else 1
    readers = [entry for tfms in (data.get("type_tfms") or [])[:n_inp] for entry in tfms]
    return {
        "inputs": list(data.get("kinds") or [])[:n_inp],
        "classes": data.get("vocab"),
        "input_size": size,
        "preprocessing": _names(readers)
        + _names(data.get("item_tfms"))
        + _names(data.get("batch_tfms")),
    }


def _app_details(app: str, spec: dict[str, Any]) -> dict[str, Any]:
    if app in ("vision", "text", "model"):
        architecture = spec.get("arch") or spec.get("model_name") or spec.get("name")
        return {"architecture": architecture, **_block_data(spec)}
    if app == "tabular":
        processor = spec.get("processor") or {}
        return {
            "architecture": spec.get("model_name"),
            "inputs": {
                "categorical": processor.get("cat_names"),
                "continuous": processor.get("cont_names"),
            },  # fmt: skip
            "target": processor.get("y_names"),
            "classes": processor.get("y_vocab") if processor.get("y_block") == "category" else None,
            "preprocessing": _names(processor.get("procs")),
        }
    if app == "collab":
        vocab, arch = spec.get("vocab") or {}, spec.get("arch") or {}
        return {
            "architecture": f"collab_{spec.get('model')}",
            "inputs": {
                "users": len(vocab.get("users") or []),
                "items": len(vocab.get("items") or []),
            },
            "columns": spec.get("names"),
            "rating_range": arch.get("y_range"),
            "classes": None,
        }
    return {"architecture": None, "classes": None}


def export_info(path: str | Path) -> dict[str, Any]:
    """A JSON-able summary of an export: application, architecture, classes, inputs,
    preprocessing, what `lamina export` files of it take, tensors and their size, and the
    lamina version that wrote it."""
    from lamina.cli.export import inputs_doc

    info, shapes = read_header(path)
    spec = info["spec"]
    app = str(info.get("app") or spec.get("app"))
    numel = {key: math.prod(shape) for key, (shape, _) in shapes.items()}
    size = sum(numel[key] * _DTYPE_BYTES.get(dtype, 4) for key, (_, dtype) in shapes.items())
    return {
        "file": str(path),
        "application": app,
        **_app_details(app, spec),
        "exported_inputs": inputs_doc(app),  # what `lamina export` files of it take
        "tensors": len(shapes),
        "parameters": sum(numel.values()),
        "tensor_bytes": size,
        "dtypes": sorted({dtype for _, dtype in shapes.values()}),
        "format_version": info.get("format_version"),
        "lamina_version": spec.get("lamina_version", "0.1 or earlier"),
    }


def format_info(summary: dict[str, Any]) -> str:
    """The summary as aligned `key: value` lines."""
    width = max(len(key) for key in summary)
    lines = []
    for key, value in summary.items():
        if value is None:
            continue
        if key == "tensor_bytes":
            value = f"{value:,} bytes ({value / 2**20:.1f} MiB)"
        elif key == "parameters":
            value = f"{value:,}"
        elif isinstance(value, list) and key == "preprocessing":
            value = (
                "\n".join([value[0], *(" " * (width + 2) + v for v in value[1:])]) if value else "-"
            )
        elif isinstance(value, (list, dict)):
            value = json.dumps(value)
        lines.append(f"{key.ljust(width)}: {value}")
    return "\n".join(lines)


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Register `lamina info`."""
    parser = subparsers.add_parser(
        "info",
        parents=parents,
        help="show what an exported model holds (read without building it)",
        description="Show an export's application, architecture, classes, input size, "
        "preprocessing, the inputs a `lamina export` file of it takes, tensors and their total "
        "size, and the lamina version that wrote it. "
        "Only the file's header is read: nothing is built or run.",
    )
    parser.add_argument("model", help="an exported model file (learn.export / lamina train)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print the summary of `args.model`."""
    summary = export_info(args.model)
    print(json.dumps(summary) if args.json else format_info(summary))
    return 0
