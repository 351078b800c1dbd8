"""The registry of named parts.

Everything that an exported model or checkpoint refers to (architectures, transforms, blocks,
losses, metrics, preprocessing steps) is stored as a registered *name* plus JSON arguments.
Loading looks the name up here, so opening a file never imports or executes code named by it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar, runtime_checkable

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


# ----------------------------------------------------------------------------- the state protocol
# Everything that goes into an exported file (transforms, blocks, preprocessing steps,
# vocabularies, architectures) follows one protocol: `config()` returns JSON-able data, and the
# registered class rebuilds the object from it, with `from_config(config)` when it defines one
# (objects whose state is more than their constructor's arguments, e.g. fitted steps), else with
# `cls(**config)`. In a file such an object is an entry `{"name": registered name, "args":
# config}`, so loading looks names up here and never runs code from the file.


@runtime_checkable
class Configurable(Protocol):
    """An object whose whole state is the JSON that `config()` returns."""

    def config(self) -> dict[str, Any]:
        """JSON-able data that rebuilds this object (see the state protocol above)."""
        ...


def to_entry(kind: str, obj: Configurable) -> dict[str, Any]:
    """`{"name": ..., "args": obj.config()}` for an object registered under `kind`."""
    name = registered_name(kind, obj)
    if name is None:
        raise ValueError(
            f"{type(obj).__name__} is not registered as a {kind}, so it cannot be exported; "
            f"decorate its class with @register({kind!r})"
        )
    return {"name": name, "args": obj.config()}


def from_entry(kind: str, entry: Any) -> Any:
    """Rebuild the object an entry of `to_entry` describes (`from_config`, else `cls(**args)`)."""
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise ValueError(f"a {kind} entry must be {{'name': ..., 'args': {{...}}}}, got {entry!r}")
    args = entry.get("args", {})
    if not isinstance(args, dict):
        raise ValueError(
            f"the args of {kind} {entry['name']!r} must be a JSON object, got {args!r}"
        )
    cls = lookup(kind, entry["name"])
    rebuild = getattr(cls, "from_config", None)
    try:
        return rebuild(args) if rebuild is not None else cls(**args)
    except TypeError as error:
        raise ValueError(
            f"{kind} {entry['name']!r} cannot be rebuilt from {args!r}: {error}"
        ) from None
