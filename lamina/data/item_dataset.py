"""Map-style data sets built from blocks: one `ItemDataset` per split, held by `Datasets`.

Building a data set runs the getters on every item and encodes the labels at once (cheap, and a
bad label is reported before training starts, naming the item). Lazy elements (files) are read
in `__getitem__`, usually in a worker process. Any failure while reading or transforming an item is
re-raised as an `ItemError` naming the item and the step, so a worker never dies with an opaque
traceback.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from lamina.data.blocks import TransformBlock
from lamina.data.collate_check import NamedSamples
from lamina.data.transform import Kinds, Pipeline, Transform


class ItemError(ValueError):
    """Reading, labelling or transforming one item failed; the message names the item and step."""


def describe_item(item: Any, index: int) -> str:
    """A short name for an item in error messages: its path, or its row number."""
    if isinstance(item, (str, Path)):
        return str(item)
    if isinstance(item, dict) or hasattr(item, "keys"):
        return f"row {index}"
    text = repr(item)
    return f"item {index} ({text[:60]}{'...' if len(text) > 60 else ''})"


def _name(func: Any) -> str:
    return getattr(func, "__name__", None) or repr(func)


class ItemDataset(torch.utils.data.Dataset):
    """One split: samples (raw values for lazy elements, encoded ones for the rest), their names,
    and the transforms that finish each sample when it is read.

    Args:
        samples: one tuple per item, one value per element.
        names: one description per item, for error messages.
        kinds: the kind of each element.
        type_tfms: per element, the type transforms to run on read (empty for encoded ones).
        item_tfms: the item pipeline, run with `split_idx`.
        split_idx: 0 for training (random transforms run), 1 for validation.
    """

    def __init__(
        self,
        samples: list[tuple],
        names: list[str],
        kinds: Kinds,
        type_tfms: Sequence[Sequence[Transform]],
        item_tfms: Pipeline,
        split_idx: int | None,
    ) -> None:
        self.samples, self.names, self.kinds = samples, names, tuple(kinds)
        self.type_tfms = [list(tfms) for tfms in type_tfms]
        self.item_tfms, self.split_idx = item_tfms, split_idx

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple:
        sample = self.samples[index]
        step = "reading"
        try:
            sample = tuple(
                self._encode(value, tfms, kind)
                for value, tfms, kind in zip(sample, self.type_tfms, self.kinds, strict=True)
            )
            for tfm in self.item_tfms.tfms:
                step = f"item transform {type(tfm).__name__}"
                sample = tfm(sample, self.kinds, self.split_idx)
        except Exception as error:
            raise ItemError(
                f"{self.names[index]}: {step} failed: {type(error).__name__}: {error}"
            ) from error
        return sample

    def __getitems__(self, indices: Sequence[int]) -> NamedSamples:
        """The samples at `indices`, carrying their items' names (for collation errors)."""
        return NamedSamples([self[index] for index in indices], [self.names[i] for i in indices])

    @staticmethod
    def _encode(value: Any, tfms: list[Transform], kind: str) -> Any:
        for tfm in tfms:
            value = tfm.encode(value, kind)
        return value


class Datasets:
    """The training and validation `ItemDataset`s built by a `DataBlock`, and what they share.

    Attributes:
        train, valid: the two splits.
        blocks, kinds, n_inp: one block and kind per element; the first `n_inp` are inputs.
        type_tfms: per element, the fitted type transforms (a category's holds its vocab).
        skipped: `(item, reason)` for every item left out by `skip_bad_items`.
    """

    def __init__(
        self,
        train: ItemDataset,
        valid: ItemDataset,
        blocks: Sequence[TransformBlock],
        type_tfms: Sequence[Sequence[Transform]],
        n_inp: int,
        getters: Sequence[Callable | None],
        skipped: list[tuple[str, str]],
    ) -> None:
        self.train, self.valid = train, valid
        self.blocks, self.n_inp = list(blocks), n_inp
        self.kinds = tuple(block.kind for block in blocks)
        self.type_tfms = [list(tfms) for tfms in type_tfms]
        self.getters, self.skipped = list(getters), skipped

    @property
    def vocab(self) -> list[Any] | None:
        """The first target's vocab (labels in index order), if it has one."""
        for tfms in self.type_tfms[self.n_inp :]:
            for tfm in tfms:
                vocab = getattr(tfm, "vocab", None)
                if vocab is not None:
                    return vocab.to_list()
        return None

    def new(self, items: Sequence[Any], with_labels: bool = False) -> ItemDataset:
        """A data set over new `items` with validation transforms (labels too if asked)."""
        n_elements = len(self.blocks) if with_labels else self.n_inp
        elements = range(n_elements)
        samples, names = [], []
        for index, item in enumerate(items):
            name = describe_item(item, index)
            raw = [_get(self.getters[e], item, name) for e in elements]
            samples.append(
                tuple(
                    raw[e] if self.blocks[e].lazy else _encode_eager(self, e, raw[e], name)
                    for e in elements
                )
            )
            names.append(name)
        lazy = [self.type_tfms[e] if self.blocks[e].lazy else [] for e in elements]
        return ItemDataset(
            samples, names, self.kinds[:n_elements], lazy, self.train.item_tfms, split_idx=1
        )


def _get(getter: Callable | None, item: Any, name: str) -> Any:
    if getter is None:
        return item
    try:
        return getter(item)
    except Exception as error:
        raise ItemError(
            f"{name}: getter {_name(getter)} failed: {type(error).__name__}: {error}"
        ) from error


def _encode_eager(dsets: Datasets, element: int, value: Any, name: str) -> Any:
    kind = dsets.kinds[element]
    for tfm in dsets.type_tfms[element]:
        try:
            value = tfm.encode(value, kind)
        except Exception as error:
            raise ItemError(f"{name}: {type(tfm).__name__} failed on {value!r}: {error}") from error
    return value


def _find_unreadable(
    blocks: Sequence[TransformBlock],
    raw: list[tuple],
    names: list[str],
    indices: list[int],
    skipped: list[tuple[str, str]],
) -> set[int]:
    """Indices of items whose lazy elements cannot be read; each is recorded in `skipped`."""
    bad: set[int] = set()
    for index in indices:
        reason = _verify(blocks, raw[index])
        if reason is not None:
            bad.add(index)
            skipped.append((names[index], reason))
    if skipped:
        shown = ", ".join(name for name, _ in skipped[:3]) + (", ..." if len(skipped) > 3 else "")
        print(
            f"skipped {len(skipped)} unreadable item(s) of {len(indices)}: {shown} (see .skipped)"
        )
    return bad


def _verify(blocks: Sequence[TransformBlock], raw: tuple) -> str | None:
    for block, value in zip(blocks, raw, strict=True):
        if not block.lazy:
            continue
        try:
            block.verify(value)
        except Exception as error:
            return f"{type(error).__name__}: {error}"
    return None


def build_datasets(
    items: Sequence[Any],
    blocks: Sequence[TransformBlock],
    getters: Sequence[Callable | None],
    splits: tuple[Sequence[int], Sequence[int]],
    item_tfms: Pipeline,
    n_inp: int,
    type_tfms: Sequence[Sequence[Transform]] | None = None,
    skip_bad_items: bool = False,
) -> Datasets:
    """Run the getters on every item, drop unreadable items if asked, fit and encode the labels,
    and return the two splits.

    `type_tfms` gives each element's fresh type transforms (default: each block's
    `type_tfms()`); they are fitted here.
    """
    names = [describe_item(item, index) for index, item in enumerate(items)]
    raw = [
        tuple(_get(get, item, name) for get in getters)
        for item, name in zip(items, names, strict=True)
    ]
    train_idx, valid_idx = list(splits[0]), list(splits[1])
    skipped: list[tuple[str, str]] = []
    if skip_bad_items:
        bad = _find_unreadable(blocks, raw, names, sorted({*train_idx, *valid_idx}), skipped)
        train_idx = [i for i in train_idx if i not in bad]
        valid_idx = [i for i in valid_idx if i not in bad]
    if not train_idx:
        raise ValueError(
            f"the training split is empty ({len(items)} items, {len(skipped)} skipped)"
        )
    type_tfms = (
        [block.type_tfms() for block in blocks]
        if type_tfms is None
        else [list(tfms) for tfms in type_tfms]
    )
    encoded = [list(sample) for sample in raw]
    for element, (block, tfms) in enumerate(zip(blocks, type_tfms, strict=True)):
        if not block.lazy:
            _fit_and_encode(encoded, element, block.kind, tfms, train_idx, valid_idx, names)
    lazy = [tfms if block.lazy else [] for block, tfms in zip(blocks, type_tfms, strict=True)]
    kinds = tuple(block.kind for block in blocks)

    def split(indices: list[int], split_idx: int) -> ItemDataset:
        samples = [tuple(encoded[i]) for i in indices]
        return ItemDataset(samples, [names[i] for i in indices], kinds, lazy, item_tfms, split_idx)

    return Datasets(
        split(train_idx, 0), split(valid_idx, 1), blocks, type_tfms, n_inp, getters, skipped
    )


def _fit_and_encode(
    encoded: list[list[Any]],
    element: int,
    kind: str,
    tfms: Sequence[Transform],
    train_idx: list[int],
    valid_idx: list[int],
    names: list[str],
) -> None:
    """Fit each type transform on the training values (so far encoded), then encode all values:
    at once with `encode_many` (transforms that batch, e.g. a tokenizer), or one by one when that
    fails, so the error names the item at fault."""
    for tfm in tfms:
        setup = getattr(tfm, "setup", None)
        if setup is not None:
            setup([encoded[i][element] for i in train_idx])
        indices = [*train_idx, *valid_idx]
        try:
            values = tfm.encode_many([encoded[i][element] for i in indices], kind)
        except Exception:  # noqa: BLE001  (encoded again one by one below, naming the culprit)
            values = None
        if values is not None and len(values) == len(indices):
            for index, value in zip(indices, values, strict=True):
                encoded[index][element] = value
            continue
        valid = set(valid_idx)
        for index in indices:
            value = encoded[index][element]
            try:
                encoded[index][element] = tfm.encode(value, kind)
            except Exception as error:
                where = "validation" if index in valid else "training"
                hint = " (the vocab is fitted on the training labels)" if index in valid else ""
                raise ItemError(
                    f"{names[index]} ({where} set): {type(tfm).__name__} failed on "
                    f"{value!r}: {error}{hint}"
                ) from error
