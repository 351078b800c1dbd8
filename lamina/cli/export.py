"""`lamina export MODEL --onnx out.onnx | --torch out.pt2`: files for serving without lamina.

Each application says what its exported file takes (`graph_inputs` and `INPUTS_DOC` beside
it); tracing, writing and checking are `lamina.train.graph_export`'s.
"""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path
from typing import Any

# application -> the module holding its `graph_inputs(learn)` and `INPUTS_DOC`
GRAPH_INPUTS = {
    "vision": "lamina.vision.onnx",
    "tabular": "lamina.tabular.graph_inputs",
    "collab": "lamina.collab.graph_inputs",
    "text": "lamina.text.graph_inputs",
}


def inputs_doc(app: str) -> str | None:
    """What an exported `app` model's file takes (one line), or None if it cannot export."""
    if app not in GRAPH_INPUTS:
        return None
    return str(importlib.import_module(GRAPH_INPUTS[app]).INPUTS_DOC)


class _HelpWithInputs(argparse.Action):
    """`--help` that lists each application's inputs, importing them only when asked."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         help="show this help and what each application's file takes")  # fmt: skip

    def __call__(self, parser: argparse.ArgumentParser, *args: Any) -> None:
        lines = [f"  {app}: {inputs_doc(app)}" for app in GRAPH_INPUTS]
        parser.epilog = "inputs of the exported file, by application:\n" + "\n".join(lines)
        parser.print_help()
        parser.exit()


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Register `lamina export`."""
    parser = subparsers.add_parser(
        "export", parents=parents, add_help=False,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        help="convert a model to ONNX or torch.export (vision, tabular, collab, text)",
        description="Write an exported model as ONNX (needs lamina[onnx]) or as a torch.export "
        "program (.pt2), checked against the model on an example batch before it is written.\n"
        "The file takes encoded inputs (any batch size N) and gives the model's raw outputs "
        "(logits, or values);\nsee `lamina info MODEL` for its preprocessing and inputs. "
        "Text models take token ids padded on the right,\nany length T (up to a Transformer's "
        "max_len).",
    )  # fmt: skip
    parser.add_argument("-h", "--help", action=_HelpWithInputs)
    parser.add_argument("model", type=Path, help="the exported model file")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--onnx", type=Path, metavar="OUT", help="write ONNX to OUT")
    target.add_argument("--torch", type=Path, metavar="OUT", help="write torch.export to OUT")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Load the model on the CPU and write the file asked for."""
    from lamina.cli.info import export_info
    from lamina.inference import load_learner
    from lamina.train.graph_export import export_onnx_model, export_torch_program

    app = export_info(args.model)["application"]
    if app not in GRAPH_INPUTS:
        raise ValueError(
            f"{args.model} is a {app!r} model; lamina export converts "
            f"{', '.join(GRAPH_INPUTS)} models"
        )
    learn = load_learner(args.model, device="cpu")
    inputs = importlib.import_module(GRAPH_INPUTS[app]).graph_inputs(learn)
    if args.onnx:
        path = export_onnx_model(learn.model, inputs, args.onnx)
    else:
        path = export_torch_program(learn.model, inputs, args.torch)
    print(f"wrote {path}, taking {inputs.description}")
    return 0
