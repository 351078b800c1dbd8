"""Serving without lamina: a vision learner's model as ONNX, or as a `torch.export` program.

Both hold the model alone, taking a normalized batch (B, C, H, W) with any batch size and
returning raw outputs (logits for classification). Preprocessing is the learner's inference
pipeline, written as JSON in `learn.export_spec["data"]`: resize, divide by 255, normalize with
the `Normalize` statistics there; then apply the loss's activation (softmax, sigmoid).
Tracing, writing and checking the file are `lamina.train.graph_export`'s (shared by every
application); this module says what a vision model takes.

A `.pt2` file is loaded with `torch.export.load`, which deserializes Python objects: load only
files you trust. Loading lamina's own `.lamina` exports never runs code (`lamina.load_learner`).
ONNX export needs the optional `onnx`, `onnxscript` and `onnxruntime` packages
(`pip install lamina[onnx]`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch

from lamina.core.modules import unwrap_model
from lamina.train.graph_export import GraphInputs, export_onnx_model, export_torch_program

if TYPE_CHECKING:
    from lamina.train.learner import Learner

INPUTS_DOC = "input: float32 (N, C, H, W), images resized and normalized as `lamina info` lists"


def graph_inputs(learn: Learner, example: torch.Tensor | None = None) -> GraphInputs:
    """What a vision model takes, with `example` (a normalized batch (B, C, H, W)) or, by
    default, a validation batch, or one made from a blank image by the inference pipeline (a
    loaded learner has no data)."""
    if example is None:
        if learn.dls.valid is not None:
            example = learn.dls.one_batch(1)[0]
        else:
            from PIL import Image

            pipeline = learn.inference_pipeline()  # type: ignore[attr-defined]
            example = pipeline.batch([Image.new("RGB", (64, 64), (128, 96, 64))])[0]
    if not (isinstance(example, torch.Tensor) and example.ndim == 4):
        raise ValueError(f"example must be a tensor (B, C, H, W), got {example!r:.80}")
    example = example[:2]
    if len(example) == 1:
        example = example.expand(2, *example.shape[1:])
    param = next(unwrap_model(learn.model).parameters(), None)
    example = example.to(param.device if param is not None else "cpu").contiguous()
    return GraphInputs(("input",), (example,), ({0: torch.export.Dim("batch")},), INPUTS_DOC)


def export_torch(learn: Learner, path: str | Path, example: torch.Tensor | None = None) -> Path:
    """Write `learn.model` as a `torch.export` program to `path` (a `.pt2` file).

    Load it with `torch.export.load(path).module()` (trusted files only, see the module doc).

    Example:
        >>> export_torch(learn, "model.pt2")
        >>> model = torch.export.load("model.pt2").module()
        >>> logits = model(normalized_batch)
    """
    return export_torch_program(learn.model, graph_inputs(learn, example), path)


def export_onnx(
    learn: Learner, path: str | Path, example: torch.Tensor | None = None, opset: int | None = None
) -> Path:
    """Write `learn.model` as an ONNX model to `path`, with a dynamic batch dimension.

    Uses torch's dynamo-based ONNX exporter. The graph's input is named `"input"` and its output
    `"output"`; see the module doc for the preprocessing it expects.

    Example:
        >>> export_onnx(learn, "model.onnx")
        >>> session = onnxruntime.InferenceSession("model.onnx")
        >>> (logits,) = session.run(None, {"input": normalized_batch.numpy()})
    """
    if opset is not None and not (isinstance(opset, int) and opset >= 7):
        raise ValueError(
            f"opset must be an ONNX opset version (an int >= 7) or None, got {opset!r}"
        )
    return export_onnx_model(learn.model, graph_inputs(learn, example), path, opset)
