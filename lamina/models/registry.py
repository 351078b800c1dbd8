"""Build architectures by registered name (or `"timm/<name>"`/`"timm:<name>"` with timm installed).

Constructors register themselves with `@register("model", name)` from `lamina.core.registry`;
an exported model stores that name and its JSON keyword arguments, and is rebuilt here.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from lamina.core.registry import lookup, registered_names
from lamina.models.timm_body import import_timm, timm_model_name


def model_names() -> list[str]:
    """Sorted names `build_model` accepts (besides `"timm/<name>"`)."""
    return registered_names("model")


def build_model(name: str, **kwargs: Any) -> nn.Module:
    """The architecture registered as `name`, built with `kwargs`.

    `"timm/<name>"` (or `"timm:<name>"`) builds `timm.create_model(<name>, **kwargs)`, the
    whole timm classifier; timm is optional and only imported then. (`create_body` makes a
    body of it for lamina's head: see `lamina.models.timm_body`.)

    Example:
        >>> model = build_model("resnet18", num_classes=10)
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    timm_name = timm_model_name(name)
    if timm_name is not None:
        return import_timm(name).create_model(timm_name, **kwargs)
    if name not in model_names():
        known = ", ".join(model_names()) or "none"
        raise ValueError(f"unknown model name {name!r}; known names: {known}, or 'timm/<name>'")
    return lookup("model", name)(**kwargs)
