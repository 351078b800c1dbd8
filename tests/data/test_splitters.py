"""Splitters: seeded, validated, and each splitting the way it says."""

from __future__ import annotations

from collections import Counter

import pytest

from lamina.data.splitters import (
    ColSplitter,
    FuncSplitter,
    GrandparentSplitter,
    IndexSplitter,
    RandomSplitter,
    TrainTestSplitter,
)


def test_random_splitter_is_seeded_and_partitions() -> None:
    items = list(range(100))
    train, valid = RandomSplitter(0.2, seed=1)(items)
    assert len(valid) == 20
    assert sorted(train + valid) == items
    assert RandomSplitter(0.2, seed=1)(items) == (train, valid)
    assert RandomSplitter(0.2, seed=2)(items)[1] != valid


@pytest.mark.parametrize("pct", [-0.1, 1.0, "0.2", None])
def test_random_splitter_validates_valid_pct(pct: object) -> None:
    with pytest.raises(ValueError, match="valid_pct must be a fraction"):
        RandomSplitter(pct)  # type: ignore[arg-type]


def test_grandparent_splitter() -> None:
    items = ["d/train/a/1.jpg", "d/valid/a/2.jpg", "d/test/a/3.jpg", "d/train/b/4.jpg"]
    assert GrandparentSplitter()(items) == ([0, 3], [1])
    assert GrandparentSplitter("train", "test")(items) == ([0, 3], [2])
    with pytest.raises(ValueError, match="must differ"):
        GrandparentSplitter("x", "x")
    with pytest.raises(ValueError, match="valid_name"):
        GrandparentSplitter("train", "")


def test_index_splitter() -> None:
    assert IndexSplitter([3, 1])(list("abcde")) == ([0, 2, 4], [1, 3])
    with pytest.raises(ValueError, match="out of range"):
        IndexSplitter([7])(list("abc"))
    with pytest.raises(ValueError, match="non-negative"):
        IndexSplitter([-1])


def test_col_splitter_reads_booleans_and_strings() -> None:
    rows = [{"is_valid": True}, {"is_valid": False}, {"is_valid": "true"}, {"is_valid": 0}]
    assert ColSplitter()(rows) == ([1, 3], [0, 2])
    with pytest.raises(ValueError, match=r"row 0 has no column 'valid'; available: \['is_valid'\]"):
        ColSplitter("valid")(rows)


def is_odd(item: int) -> bool:
    return item % 2 == 1


def test_func_splitter() -> None:
    assert FuncSplitter(is_odd)([0, 1, 2, 3]) == ([0, 2], [1, 3])
    with pytest.raises(ValueError, match="callable"):
        FuncSplitter(3)  # type: ignore[arg-type]


def test_train_test_splitter_keeps_label_shares() -> None:
    labels = ["a"] * 80 + ["b"] * 20
    items = list(range(100))
    train, valid = TrainTestSplitter(0.25, seed=0, stratify=labels)(items)
    assert Counter(labels[i] for i in valid) == {"a": 20, "b": 5}
    assert sorted(train + valid) == items
    assert TrainTestSplitter(0.25, seed=0, stratify=labels)(items) == (train, valid)
    assert TrainTestSplitter(0.25, seed=1, stratify=labels)(items) != (train, valid)
    by_func = TrainTestSplitter(0.5, seed=0, stratify=is_odd)(items)
    assert Counter(is_odd(i) for i in by_func[1]) == {True: 25, False: 25}
    with pytest.raises(ValueError, match="3 labels for 100 items"):
        TrainTestSplitter(0.2, stratify=["a", "b", "c"])(items)
