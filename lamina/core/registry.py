"""The registry of named parts.

Everything that an exported model or checkpoint refers to (architectures, transforms, blocks,
losses, metrics, preprocessing steps) is stored as a registered *name* plus JSON arguments.
Loading looks the name up here, so opening a file never imports or executes code named by it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_REGISTRY: dict[str, dict[str, Any]] = {}


def register(kind: str, name: str | None = None) -> Callable[[T], T]:
    """Class or function decorator recording `obj` under `kind`/`name` (default: its `__name__`)."""

    def decorator(obj: T) -> T:
        key = name or obj.__name__  # type: ignore[attr-defined]
        table = _REGISTRY.setdefault(kind, {})
        if key in table and table[key] is not obj:
            raise ValueError(f"{kind} {key!r} is already registered to {table[key]!r}")
        table[key] = obj
        return obj

    return decorator


def lookup(kind: str, name: str) -> Any:
    """The object registered as `kind`/`name`; a `KeyError` listing the known names if none."""
    table = _REGISTRY.get(kind, {})
    if name not in table:
        known = ", ".join(sorted(table)) or "none"
        raise KeyError(f"unknown {kind} {name!r}; registered {kind} names: {known}")
    return table[name]


def registered_names(kind: str) -> list[str]:
    """Sorted names registered under `kind`."""
    return sorted(_REGISTRY.get(kind, {}))


def registered_name(kind: str, obj: Any) -> str | None:
    """The name under which `obj` (or its class) is registered as `kind`, if any."""
    for key, value in _REGISTRY.get(kind, {}).items():
        if value is obj or value is type(obj):
            return key
    return None
