"""The transform protocol shared by item and batch transforms.

Samples are tuples such as `(input, label)`. Beside each sample travels a tuple of *kinds*, one
per element (`"category"`, `"multicategory"`, `"regression"`, and whatever kinds the
applications' blocks add), set by the blocks. A transform looks at the kind to decide what to do
with each element (a resize handles the input and what moves with it, and leaves the label
alone), so type information stays beside plain tensors, never inside them.

A transform is described by its registered name and `config()`, a JSON-able dict of constructor
arguments, so a pipeline can be exported and rebuilt without pickle: `type(t)(**t.config())`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lamina.core.registry import from_entry, to_entry

Kinds = tuple[str, ...]


class Transform:
    """Base class. Override `encode` (and `decode` when the step can be undone for display).

    Attributes:
        split_idx: None to run on every split; 0 to run on the training set only (random
            augmentation); 1 for the validation set only.
        order: position in a pipeline (lower first).
    """

    split_idx: int | None = None
    order: int = 0

    def __call__(self, sample: tuple, kinds: Kinds, split_idx: int | None = None) -> tuple:
        """Apply to every element of `sample` whose kind this transform handles."""
        if self.split_idx is not None and split_idx != self.split_idx:
            return sample
        self.before_call(sample, kinds)
        return tuple(self.encode(x, kind) for x, kind in zip(sample, kinds, strict=True))

    def before_call(self, sample: tuple, kinds: Kinds) -> None:
        """Draw any random parameters, once per sample or batch, shared by all its elements."""

    def encode(self, x: Any, kind: str) -> Any:
        """Transform one element of kind `kind` (return it unchanged when not handled)."""
        return x

    def encode_many(self, values: Sequence[Any], kind: str) -> list[Any]:
        """Encode a whole column of values at once (type transforms, when a data set is built).

        The default encodes one by one; override when batching pays (a tokenizer runs over all
        documents in parallel and caches the result).
        """
        return [self.encode(value, kind) for value in values]

    def decode(self, x: Any, kind: str) -> Any:
        """Undo `encode` where that makes sense for display (default: unchanged)."""
        return x

    def decode_sample(self, sample: tuple, kinds: Kinds) -> tuple:
        """Apply `decode` to each element."""
        return tuple(self.decode(x, kind) for x, kind in zip(sample, kinds, strict=True))

    def config(self) -> dict[str, Any]:
        """JSON-able constructor arguments that rebuild this transform."""
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{key}={value!r}" for key, value in self.config().items())
        return f"{type(self).__name__}({args})"


class Pipeline:
    """Transforms applied in `order`, with decoding in reverse."""

    def __init__(self, tfms: Sequence[Transform] | Transform | None = None) -> None:
        if tfms is None:
            tfms = []
        elif isinstance(tfms, Transform):
            tfms = [tfms]
        for tfm in tfms:
            if not isinstance(tfm, Transform):
                raise TypeError(f"expected lamina Transform objects, got {tfm!r}")
        self.tfms = sorted(tfms, key=lambda tfm: tfm.order)

    def __call__(self, sample: tuple, kinds: Kinds, split_idx: int | None = None) -> tuple:
        for tfm in self.tfms:
            sample = tfm(sample, kinds, split_idx)
        return sample

    def decode(self, sample: tuple, kinds: Kinds) -> tuple:
        for tfm in reversed(self.tfms):
            sample = tfm.decode_sample(sample, kinds)
        return sample

    def __len__(self) -> int:
        return len(self.tfms)

    def __repr__(self) -> str:
        return f"Pipeline({self.tfms!r})"

    def to_config(self) -> list[dict[str, Any]]:
        """The pipeline as JSON: a list of `{"name": registered name, "args": config}`."""
        return [transform_to_config(tfm) for tfm in self.tfms]

    @classmethod
    def from_config(cls, config: list[dict[str, Any]]) -> Pipeline:
        """Rebuild a pipeline from `to_config` output, looking names up in the registry."""
        return cls([transform_from_config(item) for item in config])


def transform_to_config(tfm: Transform) -> dict[str, Any]:
    """`{"name": ..., "args": ...}` for a registered transform (see `lamina.core.registry`)."""
    return to_entry("transform", tfm)


def transform_from_config(item: dict[str, Any]) -> Transform:
    """Rebuild one transform described by `transform_to_config`."""
    tfm = from_entry("transform", item)
    if not isinstance(tfm, Transform):
        raise ValueError(f"{item['name']!r} is registered as a transform but is not a Transform")
    return tfm
