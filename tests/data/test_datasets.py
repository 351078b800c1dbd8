"""Block-built data sets: labels encoded when built, errors naming the item and the step."""

from __future__ import annotations

import pytest
import torch

from lamina.data.blocks import CategoryBlock, RegressionBlock
from lamina.data.item_dataset import ItemError, build_datasets, describe_item
from lamina.data.transform import Pipeline, Transform


class AddSplit(Transform):
    """Stand-in item transform: adds the split index it was called with to regression values."""

    def __call__(self, sample: tuple, kinds: tuple, split_idx: int | None = None) -> tuple:
        self.seen = split_idx
        return super().__call__(sample, kinds, split_idx)

    def encode(self, x: object, kind: str) -> object:
        return x + (10 if self.seen == 1 else 0) if kind == "regression" else x


class Explode(Transform):
    def encode(self, x: object, kind: str) -> object:
        raise RuntimeError("boom")


def value_of(item: dict) -> float:
    return item["value"]


def label_of(item: dict) -> str:
    return item["label"]


ROWS = [{"value": float(i), "label": "ab"[i % 2]} for i in range(6)]


def _build(rows: list, splits: tuple, tfms: list | None = None, blocks: tuple | None = None):
    blocks = blocks or (RegressionBlock(), CategoryBlock())
    return build_datasets(rows, blocks, [value_of, label_of], splits, Pipeline(tfms), n_inp=1)


def test_splits_hold_encoded_samples_and_run_item_tfms_with_their_split_idx() -> None:
    dsets = _build(ROWS, ([0, 1, 2, 3], [4, 5]), [AddSplit()])
    assert (len(dsets.train), len(dsets.valid)) == (4, 2)
    x, y = dsets.train[1]
    assert float(x) == 1.0
    assert y.dtype == torch.int64
    assert int(y) == 1
    x_valid, _ = dsets.valid[0]
    assert float(x_valid) == 14.0
    assert dsets.vocab == ["a", "b"]
    assert dsets.kinds == ("regression", "category")


def test_vocab_is_fitted_on_training_labels_only() -> None:
    rows = [{"value": 0.0, "label": "a"}, {"value": 0.5, "label": "b"}]
    rows.append({"value": 1.0, "label": "zebra"})
    with pytest.raises(ItemError, match=r"row 2 \(validation set\).*'zebra' is not in the vocab"):
        _build(rows, ([0, 1], [2]))


def test_a_getter_that_raises_names_the_item_and_the_getter() -> None:
    rows = [*ROWS, {"value": 1.0}]
    with pytest.raises(ItemError, match=r"row 6: getter label_of failed: KeyError"):
        _build(rows, ([0, 1, 6], [2]))


def test_a_failing_item_transform_is_named_with_the_item() -> None:
    dsets = _build(ROWS, ([0, 1], [2]), [Explode()])
    with pytest.raises(
        ItemError, match=r"row 1: item transform Explode failed: RuntimeError: boom"
    ):
        dsets.train[1]


def test_an_empty_training_split_is_an_error() -> None:
    with pytest.raises(ValueError, match="training split is empty"):
        _build(ROWS, ([], [0, 1]))


def test_new_items_get_the_fitted_vocab_and_validation_tfms() -> None:
    dsets = _build(ROWS, ([0, 1, 2, 3], [4, 5]), [AddSplit()])
    unlabeled = dsets.new([{"value": 2.0}])
    assert len(unlabeled[0]) == 1
    assert float(unlabeled[0][0]) == 12.0
    labeled = dsets.new([{"value": 2.0, "label": "b"}], with_labels=True)
    assert int(labeled[0][1]) == 1


def test_describe_item() -> None:
    assert describe_item("a/b.jpg", 3) == "a/b.jpg"
    assert describe_item({"a": 1}, 3) == "row 3"
    assert describe_item(("x", 2), 0).startswith("item 0 (")
