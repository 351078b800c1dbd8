"""Serving without lamina: a learner's model as ONNX, or as a `torch.export` program (.pt2).

Both hold the model alone, taking a normalized batch (B, C, H, W) with any batch size and
returning raw outputs (logits for classification). Preprocessing is the learner's inference
pipeline, written as JSON in `learn.export_spec["data"]`: resize, divide by 255, normalize with
the `Normalize` statistics there; then apply the loss's activation (softmax, sigmoid).

A `.pt2` file is loaded with `torch.export.load`, which deserializes Python objects: load only
files you trust. Loading lamina's own `.lamina` exports never runs code (`lamina.load_learner`).
ONNX export needs the optional `onnx` and `onnxscript` packages (`pip install lamina[onnx]`).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from lamina.core.files import atomic_path
from lamina.core.modules import unwrap_model

if TYPE_CHECKING:
    from lamina.train.learner import Learner


def _model(learn: Learner) -> nn.Module:
    return unwrap_model(learn.model)


def _example(learn: Learner, example: torch.Tensor | None) -> torch.Tensor:
    """A normalized input batch of at least two items (a batch of one would fix the batch size
    at 1 in the exported graph)."""
    if example is None:
        valid = learn.dls.valid
        if valid is None:
            raise ValueError(
                "export needs an example input: pass example=<normalized batch (B, C, H, W)>, "
                "e.g. learn.inference_pipeline().batch([image_path])[0]"
            )
        example = learn.dls.one_batch(1)[0]
    if not (isinstance(example, torch.Tensor) and example.ndim == 4):
        raise ValueError(f"example must be a tensor (B, C, H, W), got {example!r:.80}")
    example = example[:2]
    if len(example) == 1:
        example = example.expand(2, *example.shape[1:])
    param = next(_model(learn).parameters(), None)
    return example.to(param.device if param is not None else "cpu").contiguous()


@contextmanager
def _eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def _dynamic_batch() -> tuple[dict[int, Any]]:
    return ({0: torch.export.Dim("batch")},)


def export_torch(learn: Learner, path: str | Path, example: torch.Tensor | None = None) -> Path:
    """Write `learn.model` as a `torch.export` program to `path` (a `.pt2` file).

    Load it with `torch.export.load(path).module()` (trusted files only, see the module doc).

    Example:
        >>> export_torch(learn, "model.pt2")
        >>> model = torch.export.load("model.pt2").module()
        >>> logits = model(normalized_batch)
    """
    example = _example(learn, example)
    with _eval_mode(_model(learn)) as model, _quiet_exporter():
        program = torch.export.export(model, (example,), dynamic_shapes=_dynamic_batch())
        with atomic_path(path) as temporary:
            torch.export.save(program, str(temporary))
    return Path(path)


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
    try:
        import onnxscript  # noqa: F401  (the dynamo exporter needs it)
    except ImportError as error:
        raise ImportError(
            "export_onnx needs onnx and onnxscript: pip install lamina[onnx]"
        ) from error
    example = _example(learn, example)
    with _eval_mode(_model(learn)) as model, _quiet_exporter(), atomic_path(path) as temporary:
        torch.onnx.export(
            model,
            (example,),
            str(temporary),
            input_names=["input"],
            output_names=["output"],
            opset_version=opset,
            dynamo=True,
            dynamic_shapes=_dynamic_batch(),
            external_data=False,
            verbose=False,
        )
    return Path(path)


@contextmanager
def _quiet_exporter() -> Iterator[None]:
    # torch's exporter logs about absent torchvision ops and warns about its own internals;
    # neither is something a lamina user can act on.
    logger = logging.getLogger("torch.onnx._internal.exporter._registration")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            yield
    finally:
        logger.setLevel(level)
