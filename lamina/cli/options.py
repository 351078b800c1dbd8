"""Argument types and the training options every `lamina train` application shares."""

from __future__ import annotations

import argparse
from pathlib import Path


def positive_int(text: str) -> int:
    """An integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def positive_float(text: str) -> float:
    """A number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def unit_fraction(text: str) -> float:
    """A number in [0, 1)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1), got {text!r}") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1), got {text!r}")
    return value


def learning_rate(text: str) -> float | str:
    """`auto` (run the LR finder) or a positive number."""
    return "auto" if text == "auto" else positive_float(text)


def add_training_options(parser: argparse.ArgumentParser, epochs: int, bs: int) -> None:
    """`--epochs --lr --bs --seed --plots --out`."""
    group = parser.add_argument_group("training")
    group.add_argument("--epochs", type=positive_int, default=epochs,
                       help=f"epochs to train (default {epochs})")  # fmt: skip
    group.add_argument("--lr", type=learning_rate, default=None,
                       help="learning rate: a number, or 'auto' to run the LR finder and use "
                       "its suggestion (default: the application's default)")  # fmt: skip
    group.add_argument("--bs", type=positive_int, default=bs,
                       help=f"batch size (default {bs})")  # fmt: skip
    group.add_argument("--seed", type=int, default=42,
                       help="random seed for the split and training (default 42)")  # fmt: skip
    group.add_argument("--plots", type=Path, default=None, metavar="DIR",
                       help="write loss.png (and lr_find.png, confusion_matrix.png where they "
                       "apply) to DIR")  # fmt: skip
    group.add_argument("--out", type=Path, required=True,
                       help="the exported model file to write, e.g. model.lamina")  # fmt: skip
