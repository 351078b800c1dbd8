"""Build architectures by registered name (or `"timm/<name>"` when timm is installed).

Constructors register themselves with `@register("model", name)` from `lamina.core.registry`;
an exported model stores that name and its JSON keyword arguments, and is rebuilt here.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from lamina.core.registry import lookup, registered_names

TIMM_PREFIX = "timm/"


def model_names() -> list[str]:
    """Sorted names `build_model` accepts (besides `"timm/<name>"`)."""
    return registered_names("model")


def build_model(name: str, **kwargs: Any) -> nn.Module:
    """The architecture registered as `name`, built with `kwargs`.

    `"timm/<name>"` builds `timm.create_model(<name>, **kwargs)`; timm is optional and only
    imported here.

    Example:
        >>> model = build_model("resnet18", num_classes=10)
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    if name.startswith(TIMM_PREFIX):
        return _build_timm(name[len(TIMM_PREFIX) :], kwargs)
    if name not in model_names():
        known = ", ".join(model_names()) or "none"
        raise ValueError(f"unknown model name {name!r}; known names: {known}, or 'timm/<name>'")
    return lookup("model", name)(**kwargs)


def _build_timm(name: str, kwargs: dict[str, Any]) -> nn.Module:
    try:
        import timm
    except ImportError as error:
        raise ImportError(
            f"model name 'timm/{name}' needs the optional timm package: pip install timm"
        ) from error
    return timm.create_model(name, **kwargs)
