"""`lamina predict MODEL FILES_OR_CSV...`: predictions as a table or as JSON lines.

What the inputs are follows the model: image files or folders of them (vision), CSV files of
rows (tabular), CSV files of (user, item) pairs (collab, the columns it was trained on, else
the first two), and text files or CSV files with a text column (text).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lamina.cli.options import positive_int


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Register `lamina predict`."""
    parser = subparsers.add_parser(
        "predict", parents=parents, help="predict on files with an exported model",
        description="Predict with an exported model on image files or folders (vision), CSV "
        "rows (tabular), CSV (user, item) pairs (collab), or text files and CSV text columns "
        "(text). Prints a table, or with --json one JSON object per input with label, index "
        "and probs (and top: the --top-k most probable labels).",
    )  # fmt: skip
    parser.add_argument("model", type=Path, help="the exported model file")
    parser.add_argument("inputs", type=Path, nargs="+", metavar="FILES_OR_CSV",
                        help="files, folders or CSV files to predict on")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print JSON lines")
    parser.add_argument("--top-k", type=positive_int, default=3,
                        help="most probable labels shown per input (default 3)")  # fmt: skip
    parser.add_argument("--text-col", default="text",
                        help="text column of CSV inputs to a text model")  # fmt: skip
    parser.add_argument("--bs", type=positive_int, default=64, help="batch size (default 64)")
    parser.add_argument("--device", default=None, help="torch device (default: the best one)")
    parser.set_defaults(run=run)


def _read_csv(path: Path) -> Any:
    import pandas as pd

    try:
        return pd.read_csv(path)
    except (ValueError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} cannot be read as CSV: {error}") from None


def _image_inputs(path: Path) -> Iterator[tuple[str, Any]]:
    from lamina.vision.data.files import get_image_files

    files = get_image_files(path) if path.is_dir() else [path]
    if not files:
        raise ValueError(f"no image files under {path}")
    for file in files:
        yield str(file), file


def _row_inputs(path: Path) -> Iterator[tuple[str, Any]]:
    for index, row in enumerate(_read_csv(path).to_dict("records")):
        yield f"{path}:{index + 1}", row


def _pair_inputs(path: Path, names: Any) -> Iterator[tuple[str, Any]]:
    frame = _read_csv(path)
    user, item = names[:2] if isinstance(names, list) and set(names[:2]) <= set(frame) else (
        list(frame.columns[:2]))  # fmt: skip
    for index, (u, i) in enumerate(zip(frame[user], frame[item], strict=True)):
        yield f"{path}:{index + 1}", (u, i)


def _text_inputs(path: Path, column: str) -> Iterator[tuple[str, Any]]:
    if path.suffix.lower() != ".csv":
        yield str(path), path.read_text(encoding="utf-8")
        return
    frame = _read_csv(path)
    if column not in frame:
        raise ValueError(f"{path} has no column {column!r} (columns: {list(frame.columns)})")
    for index, text in enumerate(frame[column]):
        yield f"{path}:{index + 1}", str(text)


def _inputs(args: argparse.Namespace, kind: str, spec: dict[str, Any]) -> Iterator[tuple]:
    for path in args.inputs:
        if not path.exists():
            raise FileNotFoundError(f"no such file: {path}")
        if kind == "image":
            yield from _image_inputs(path)
        elif kind == "row":
            yield from _row_inputs(path)
        elif kind == "pair":
            yield from _pair_inputs(path, spec.get("names"))
        else:
            yield from _text_inputs(path, args.text_col)


def _chunks(items: Iterator[tuple], size: int) -> Iterator[list[tuple]]:
    chunk: list[tuple] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _table_line(name: str, record: dict[str, Any], top: list[list[Any]]) -> str:
    label = record["label"]
    label = f"{label:.4f}" if isinstance(label, float) else str(label)
    shown = "  ".join(f"{other}:{prob:.3f}" for other, prob in top)
    return f"{name}\t{label}\t{shown}".rstrip()


def run(args: argparse.Namespace) -> int:
    """Predict on every input, `--bs` at a time, printing as it goes."""
    from lamina.inference import load_learner
    from lamina.serve.predictors import predictor_for, top_k

    learn = load_learner(args.model, device=args.device)
    predictor = predictor_for(learn)
    if not args.json:
        print("input\tlabel\ttop" if predictor.labels is not None else "input\tprediction")
    for chunk in _chunks(_inputs(args, predictor.input_kind, learn.export_spec), args.bs):
        records = predictor.predict_many([item for _, item in chunk])
        for (name, _), record in zip(chunk, records, strict=True):
            top = top_k(record, predictor.labels, args.top_k)
            if args.json:
                print(json.dumps({"input": name, **record, "top": top}), flush=True)
            else:
                print(_table_line(name, record, top), flush=True)
    return 0
