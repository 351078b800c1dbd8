"""Rebuilding an exported vision learner, for `lamina.load_learner`.

`learn.export(path)` writes the weights and `learn.export_spec` (architecture name and
arguments, head, input channels, the data's inference pipeline as JSON, the loss by name). The
builder registered here as app `"vision"` rebuilds the model from the registered architecture
name, loads the tensors with strict name and shape checks, and rebuilds the preprocessing from
registered transform names. No training data is needed: the learner's `dls` is an
`InferenceLoaders` (`lamina.data.inference`), holding the pipeline, the vocab and `test_dl` for
batches of new items.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from lamina.core.registry import lookup, register
from lamina.data.inference import InferenceLoaders, InferencePipeline
from lamina.models import build_model, default_split
from lamina.models.registry import model_names
from lamina.models.timm_body import check_timm_for_export, timm_model_name
from lamina.train.loss_check import default_loss_for
from lamina.train.weights_check import build_checked
from lamina.vision.learner import VisionLearner


def _required(spec: dict[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    if key not in spec or not isinstance(spec[key], kind):
        raise ValueError(f"the exported vision spec has no valid {key!r} (got {spec.get(key)!r})")
    return spec[key]


def _check_arch(arch: str) -> None:
    if timm_model_name(arch) is None and arch not in model_names():
        raise ValueError(
            f"the exported model's architecture {arch!r} is not registered in this lamina; "
            f"known names: {', '.join(model_names())}, or 'timm/<name>'"
        )


def build_model_from_spec(spec: dict[str, Any]) -> nn.Module:
    """The (randomly initialized) model an export spec describes."""
    arch = _required(spec, "arch", str)
    _check_arch(arch)
    check_timm_for_export(spec)  # a clear error when timm is missing
    n_out, n_in = _required(spec, "n_out", int), _required(spec, "n_in", int)
    cut = spec.get("cut")
    kind = spec.get("model", "classifier")
    # Both kinds are registered architectures, rebuilt by name like every exported model.
    if kind == "classifier":
        head = _required(spec, "head", dict)
        return build_model("vision_model", arch=arch, n_out=n_out, n_in=n_in, cut=cut, **head)
    if kind == "unet":
        unet = _required(spec, "unet", dict)
        return build_model("unet", arch=arch, n_out=n_out, n_in=n_in, cut=cut, **unet)
    raise ValueError(f"unknown vision model kind {kind!r}; known: 'classifier', 'unet'")


def load_model_tensors(model: nn.Module, tensors: dict[str, torch.Tensor]) -> None:
    """Copy `tensors` into `model`; a `ValueError` naming each missing, unexpected or
    mis-shaped tensor."""
    from lamina.models import load_weights

    try:
        load_weights(model, tensors)
    except ValueError as error:
        raise ValueError(f"the exported weights do not fit the model: {error}") from None


def _pipeline(config: Any, device: torch.device | None) -> InferencePipeline:
    if not isinstance(config, dict):
        raise ValueError("the exported vision spec has no 'data' config")
    try:
        return InferencePipeline.from_config(config, device)
    except (KeyError, TypeError) as error:
        message = error.args[0] if isinstance(error, KeyError) else str(error)
        raise ValueError(f"the exported data pipeline cannot be rebuilt: {message}") from None


def _loss(spec: dict[str, Any], dls: InferenceLoaders) -> Any:
    loss = spec.get("loss")
    try:
        if isinstance(loss, dict):
            return lookup("loss", loss["name"])(**loss.get("args", {}))
        return default_loss_for(dls) if dls.loss_name else None
    except KeyError as error:
        raise ValueError(f"the exported loss cannot be rebuilt: {error.args[0]}") from None


@register("app", "vision")
def build_vision_learner(
    spec: dict[str, Any], tensors: dict[str, torch.Tensor], device: torch.device | None
) -> VisionLearner:
    """Rebuild an exported vision learner for inference (see the module docstring)."""
    import lamina.train.losses  # noqa: F401  (registers the losses looked up by name)

    try:
        model = build_checked(lambda: build_model_from_spec(spec), tensors)
    except ValueError as error:
        raise ValueError(f"the exported weights do not fit the model: {error}") from None
    pipeline = _pipeline(spec.get("data"), device)
    dls = InferenceLoaders(pipeline, spec["data"])
    model.to(dls.device).eval()
    # Loaded learners predict in float32 on any device, as `predict` does (`to_bf16()` opts in).
    learn = VisionLearner(
        dls, model, loss_func=_loss(spec, dls), splitter=default_split, precision="float32"
    )
    learn.export_spec = spec
    return learn
