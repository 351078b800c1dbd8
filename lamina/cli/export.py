"""`lamina export MODEL --onnx out.onnx | --torch out.pt2`: files for serving without lamina."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Register `lamina export`."""
    parser = subparsers.add_parser(
        "export", parents=parents, help="convert a vision model to ONNX or torch.export",
        description="Write an exported vision model as ONNX (needs lamina[onnx]) or as a "
        "torch.export program (.pt2). The file takes normalized image batches (N, C, H, W) "
        "and gives the model's raw outputs: see `lamina info MODEL` for the preprocessing.",
    )  # fmt: skip
    parser.add_argument("model", type=Path, help="the exported model file")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--onnx", type=Path, metavar="OUT", help="write ONNX to OUT")
    target.add_argument("--torch", type=Path, metavar="OUT", help="write torch.export to OUT")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Load the model on the CPU and write the file asked for."""
    from lamina.cli.info import export_info
    from lamina.inference import load_learner

    app = export_info(args.model)["application"]
    if app != "vision":
        raise ValueError(f"lamina export converts vision models only; {args.model} is {app}")
    from lamina.vision.onnx import export_onnx, export_torch

    learn = load_learner(args.model, device="cpu")
    path = export_onnx(learn, args.onnx) if args.onnx else export_torch(learn, args.torch)
    print(f"wrote {path}")
    return 0
