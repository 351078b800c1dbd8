"""Argument checks shared by the model constructors."""

from __future__ import annotations

from typing import Any


def check_positive_int(name: str, value: Any) -> None:
    """Raise a `ValueError` naming `name` unless `value` is an integer of at least 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def check_probability(name: str, value: Any) -> None:
    """Raise a `ValueError` naming `name` unless `value` is a number in [0, 1)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(f"{name} must be a number in [0, 1), got {value!r}")
