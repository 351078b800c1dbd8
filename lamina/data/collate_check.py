"""Batch collation that explains a failure: which items' values differ in shape, and how.

Torch stacks the values of one element into a batch and fails with "stack expects each tensor to
be equal size" when they differ. `CheckedCollate` catches that failure (it costs nothing while
batches collate) and raises an `UnequalShapesError` naming the items (their names travel with
the samples as `NamedSamples`) and their shapes; the element's block phrases the message and the
fix (`TransformBlock.unequal_shapes_message`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

if TYPE_CHECKING:
    from lamina.data.blocks import TransformBlock


class UnequalShapesError(ValueError):
    """The values of one batch element differ in shape, so they cannot be stacked."""


class NamedSamples(list):
    """The samples of one batch, with `names`: one description per item (its path, its row)."""

    def __init__(self, samples: list, names: Sequence[str]) -> None:
        super().__init__(samples)
        self.names = list(names)


def read_many(dataset: Any, indices: Sequence[Any]) -> list:
    """`dataset[i]` for each index, through the data set's `__getitems__` when it has one."""
    read = getattr(dataset, "__getitems__", None)
    return read(list(indices)) if read is not None else [dataset[i] for i in indices]


class CheckedCollate:
    """`collate(samples)`; when it fails because an element's values differ in shape, an
    `UnequalShapesError` naming the items and shapes instead (picklable).

    Args:
        collate: the collation to run.
        blocks: per element, its block (None: no blocks; elements are then named by position).
    """

    def __init__(
        self, collate: Callable[[list], Any], blocks: Sequence[TransformBlock] | None
    ) -> None:
        self.collate, self.blocks = collate, None if blocks is None else list(blocks)

    def __call__(self, samples: list) -> Any:
        try:
            return self.collate(samples)
        except (RuntimeError, ValueError, TypeError) as error:
            message = unequal_shapes_message(samples, self.blocks)
            if message is None:
                raise
            raise UnequalShapesError(message) from error


def _shape(value: Any) -> tuple[int, ...] | None:
    if isinstance(value, (torch.Tensor, np.ndarray)):
        return tuple(value.shape)
    return None


def unequal_shapes_message(samples: list, blocks: Sequence[TransformBlock] | None) -> str | None:
    """Why `samples` cannot be stacked: the first element (collated the default way) whose
    values differ in shape, as its block phrases it; None when every element's shapes agree."""
    if not samples or not isinstance(samples[0], (tuple, list)):
        return None
    names = getattr(samples, "names", None) or [
        f"item {position} of the batch" for position in range(len(samples))
    ]
    for element in range(len(samples[0])):
        block = blocks[element] if blocks is not None and element < len(blocks) else None
        if block is not None and not block.collates_by_stacking:
            continue  # a block's own collation (padding, ...) handles differing shapes
        firsts: dict[tuple[int, ...], str] = {}  # one item per distinct shape, in batch order
        for name, sample in zip(names, samples, strict=False):
            shape = _shape(sample[element])
            if shape is not None and shape not in firsts:
                firsts[shape] = name
        if len(firsts) > 1:
            examples = [(name, shape) for shape, name in firsts.items()]
            if block is not None:
                return block.unequal_shapes_message(examples)
            return default_unequal_shapes_message(f"element {element}", examples)
    return None


def default_unequal_shapes_message(what: str, examples: list[tuple[str, tuple[int, ...]]]) -> str:
    """The message for values of differing shapes, e.g. `what` "element 0 (audio)"."""
    shown = ", ".join(f"{name} {shape}" for name, shape in examples[:4])
    more = f" and {len(examples) - 4} other shapes" if len(examples) > 4 else ""
    return (
        f"the items of one batch cannot be stacked: {what} differs in shape: {shown}{more}; "
        "give every item the same shape (an item transform that resizes, crops or pads), or "
        "use a block whose `collate` pads"
    )
