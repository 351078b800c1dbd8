"""Splitters: `splitter(items) -> (train_idx, valid_idx)`, two sorted lists of indices.

Each is a small class (never a closure) so it survives spawn-started workers, and each checks
its arguments when built. Random splitters with the same seed give the same split.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

Split = tuple[list[int], list[int]]


def _check_pct(name: str, value: float) -> None:
    if not (isinstance(value, (int, float)) and 0 <= value < 1):
        raise ValueError(f"{name} must be a fraction in [0, 1), got {value!r}")


def _as_split(valid_mask: np.ndarray) -> Split:
    return np.flatnonzero(~valid_mask).tolist(), np.flatnonzero(valid_mask).tolist()


class RandomSplitter:
    """A random `valid_pct` of the items for validation; `seed` fixes the draw.

    Example:
        >>> RandomSplitter(0.25, seed=0)(list("abcdefgh"))
        ([0, 1, 2, 3, 5, 6], [4, 7])
    """

    def __init__(self, valid_pct: float = 0.2, seed: int | None = None) -> None:
        _check_pct("valid_pct", valid_pct)
        self.valid_pct, self.seed = valid_pct, seed

    def __call__(self, items: Sequence[Any]) -> Split:
        n = len(items)
        order = np.random.default_rng(self.seed).permutation(n)
        n_valid = round(n * self.valid_pct)
        valid = np.zeros(n, dtype=bool)
        valid[order[:n_valid]] = True
        return _as_split(valid)


class GrandparentSplitter:
    """Split files by the name of their grandparent folder: `train/spam/1.txt`, `valid/ham/2.txt`.

    Items under neither folder go to neither split.
    """

    def __init__(self, train_name: str = "train", valid_name: str = "valid") -> None:
        for name, value in (("train_name", train_name), ("valid_name", valid_name)):
            if not (isinstance(value, str) and value):
                raise ValueError(f"{name} must be a non-empty folder name, got {value!r}")
        if train_name == valid_name:
            raise ValueError(f"train_name and valid_name must differ, both are {train_name!r}")
        self.train_name, self.valid_name = train_name, valid_name

    def __call__(self, items: Sequence[Any]) -> Split:
        grandparents = [Path(item).parent.parent.name for item in items]
        train = [i for i, name in enumerate(grandparents) if name == self.train_name]
        valid = [i for i, name in enumerate(grandparents) if name == self.valid_name]
        return train, valid


class IndexSplitter:
    """The items at `valid_idx` for validation, the rest for training."""

    def __init__(self, valid_idx: Iterable[int]) -> None:
        valid_idx = list(valid_idx)
        bad = [i for i in valid_idx if not isinstance(i, (int, np.integer)) or i < 0]
        if bad:
            raise ValueError(f"valid_idx must hold non-negative integers, got {bad[:5]}")
        self.valid_idx = sorted({int(i) for i in valid_idx})

    def __call__(self, items: Sequence[Any]) -> Split:
        n = len(items)
        if self.valid_idx and self.valid_idx[-1] >= n:
            raise ValueError(
                f"IndexSplitter: index {self.valid_idx[-1]} is out of range for {n} items"
            )
        valid = np.zeros(n, dtype=bool)
        valid[self.valid_idx] = True
        return _as_split(valid)


class ColSplitter:
    """Rows whose column `col` is true go to validation (rows: dicts or pandas Series)."""

    def __init__(self, col: str | int = "is_valid") -> None:
        self.col = col

    def __call__(self, items: Sequence[Any]) -> Split:
        valid = []
        for index, row in enumerate(items):
            try:
                value = row[self.col]
            except (KeyError, IndexError, TypeError):
                available = list(row.keys()) if hasattr(row, "keys") else type(row).__name__
                raise ValueError(
                    f"ColSplitter: row {index} has no column {self.col!r}; available: {available}"
                ) from None
            valid.append(_truthy(value))
        return _as_split(np.array(valid, dtype=bool))


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "valid", "t", "y")
    return bool(value)


class FuncSplitter:
    """Items for which `func(item)` is true go to validation (`func`: a module-level function)."""

    def __init__(self, func: Callable[[Any], bool]) -> None:
        if not callable(func):
            raise ValueError(f"func must be callable, got {func!r}")
        self.func = func

    def __call__(self, items: Sequence[Any]) -> Split:
        return _as_split(np.array([bool(self.func(item)) for item in items], dtype=bool))


class TrainTestSplitter:
    """A random split that keeps each label's share the same in both splits (stratified).

    Args:
        valid_pct: fraction of each label's items for validation (rounded per label).
        seed: fixes the draw.
        stratify: a function `item -> label` (e.g. `parent_label`), or the labels themselves in
            item order; None for a plain random split.
    """

    def __init__(
        self,
        valid_pct: float = 0.2,
        seed: int | None = None,
        stratify: Callable[[Any], Any] | Sequence[Any] | None = None,
    ) -> None:
        _check_pct("valid_pct", valid_pct)
        if stratify is not None and not callable(stratify) and isinstance(stratify, str):
            raise ValueError(f"stratify must be a function or a list of labels, got {stratify!r}")
        self.valid_pct, self.seed, self.stratify = valid_pct, seed, stratify

    def __call__(self, items: Sequence[Any]) -> Split:
        if self.stratify is None:
            return RandomSplitter(self.valid_pct, self.seed)(items)
        labels = (
            [self.stratify(item) for item in items]
            if callable(self.stratify)
            else list(self.stratify)
        )
        if len(labels) != len(items):
            raise ValueError(f"stratify has {len(labels)} labels for {len(items)} items")
        rng = np.random.default_rng(self.seed)
        valid = np.zeros(len(items), dtype=bool)
        groups: dict[Any, list[int]] = {}
        for index, label in enumerate(labels):
            groups.setdefault(label, []).append(index)
        for label in sorted(groups, key=lambda x: (type(x).__name__, x)):
            members = np.array(groups[label])
            chosen = rng.permutation(len(members))[: round(len(members) * self.valid_pct)]
            valid[members[chosen]] = True
        return _as_split(valid)
