"""Exporting any learner whose model is registered and whose data describe themselves.

An application (or a user's own domain) that builds its model with `build_model(name, **args)`
from JSON-able arguments, on loaders that implement `export_config()` (every `BlockDataLoaders`
does), needs no loader of its own: `learn.export_spec = model_export_spec(learn, name, args)`
makes the learner exportable, and `lamina.load_learner` rebuilds it through the "model" builder
registered here: the model by name, the weights with strict checks, the preprocessing as an
`InferencePipeline`, the loss by registered name. Nothing in the file is run.
"""

from __future__ import annotations

from typing import Any

import torch

from lamina.core.registry import from_entry, register, registered_name
from lamina.data.inference import InferenceLoaders, InferencePipeline
from lamina.models import build_model
from lamina.train.learner import Learner
from lamina.train.loss_check import default_loss_for
from lamina.train.weights_check import build_checked

APP = "model"


def loss_entry(loss: Any) -> dict[str, Any] | None:
    """`{"name", "args"}` for a registered loss that can describe itself, else None (the loaded
    learner then takes the loss the data name)."""
    name = registered_name("loss", loss)
    if name is None or not hasattr(loss, "config"):
        return None
    return {"name": name, "args": loss.config()}


def model_export_spec(learn: Learner, model_name: str, model_args: dict[str, Any]) -> dict:
    """The export spec of `learn`, whose model is `build_model(model_name, **model_args)`."""
    return {
        "app": APP,
        "model_name": model_name,
        "model_args": dict(model_args),
        "data": learn.dls.export_config(),
        "loss": loss_entry(learn.loss_func),
    }


def _field(spec: dict[str, Any], key: str, kind: type) -> Any:
    if not isinstance(spec.get(key), kind):
        raise ValueError(f"the exported spec has no valid {key!r} (got {spec.get(key)!r})")
    return spec[key]


@register("app", APP)
def build_model_learner(
    spec: dict[str, Any],
    tensors: dict[str, torch.Tensor],
    device: torch.device | None,
    learner_class: type[Learner] = Learner,
) -> Learner:
    """Rebuild a learner exported with `model_export_spec`, for inference (as a
    `learner_class`: an application reuses this with its own learner)."""
    import lamina.train.losses  # noqa: F401  (registers the losses looked up by name)

    name, args = _field(spec, "model_name", str), _field(spec, "model_args", dict)
    try:
        model = build_checked(lambda: build_model(name, **args), tensors)
    except ValueError as error:
        raise ValueError(f"the exported weights do not fit the model: {error}") from None
    config = _field(spec, "data", dict)
    dls = InferenceLoaders(InferencePipeline.from_config(config, device), config)
    loss = spec.get("loss")
    loss_func = (
        from_entry("loss", loss) if loss else (default_loss_for(dls) if dls.loss_name else None)
    )
    model = model.to(dls.device).eval()
    learn = learner_class(dls, model, loss_func=loss_func, precision="float32")
    learn.export_spec = spec
    return learn
