"""Training inputs that used to fail obscurely or train silently on nonsense (issue 13, item 15):
each must get an error or a warning that names the culprit and the fix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from torch import nn

from lamina.collab import CollabDataLoaders, collab_learner
from lamina.data import (
    CategoryBlock,
    DataBlock,
    IndexSplitter,
    RegressionBlock,
    UnequalShapesError,
)
from lamina.data.block_loader import collate_for
from lamina.data.collate_check import NamedSamples
from lamina.data.loaders import DataLoaders
from lamina.tabular import TabularDataLoaders
from lamina.train.learner import Learner
from lamina.vision import ImageDataLoaders, Resize


# ----------------------------------------------------------------------------- tabular frames
def _table(n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "size": rng.normal(size=n),
            "colour": rng.choice(["red", "blue"], n),
            "y": [0, 1] * (n // 2),
        }
    )


@pytest.mark.parametrize("named", [True, False])
def test_duplicate_column_names_are_named(named: bool) -> None:
    df = _table()
    df = pd.concat([df, df[["size"]]], axis=1)  # two columns called "size"
    names = {"cat_names": ["colour"], "cont_names": ["size"]} if named else {}
    with pytest.raises(ValueError, match=r"more than one column named \['size'\].*duplicated"):
        TabularDataLoaders.from_df(df, y_names="y", device="cpu", **names)


def test_an_unused_duplicate_column_is_harmless_when_columns_are_named() -> None:
    df = _table()
    df = pd.concat([df, df[["size"]], df[["size"]]], axis=1)
    df.columns = ["size", "colour", "y", "note", "note"]
    dls = TabularDataLoaders.from_df(
        df, y_names="y", cat_names=["colour"], cont_names=["size"], device="cpu"
    )
    assert len(dls.train) >= 1


def test_list_valued_category_names_column_and_row() -> None:
    df = _table()
    df["colour"] = df["colour"].astype(object)
    df.at[7, "colour"] = ["red", "blue"]
    with pytest.raises(
        ValueError, match=r"categorical column 'colour' holds a list at row position 7"
    ):
        TabularDataLoaders.from_df(
            df, y_names="y", cat_names=["colour"], cont_names=["size"], device="cpu"
        )


def test_list_valued_target_names_column_and_row() -> None:
    df = _table()
    df["y"] = df["y"].astype(object)
    df.at[3, "y"] = [1]
    with pytest.raises(ValueError, match=r"target column 'y' holds a list at row position 3"):
        TabularDataLoaders.from_df(
            df, y_names="y", cat_names=["colour"], cont_names=["size"], device="cpu"
        )


def test_list_valued_category_at_prediction_is_named() -> None:
    df = _table()
    dls = TabularDataLoaders.from_df(
        df, y_names="y", cat_names=["colour"], cont_names=["size"], device="cpu"
    )
    new = df.head(3).copy()
    new["colour"] = new["colour"].astype(object)
    new.at[1, "colour"] = ("red",)
    new.at[2, "colour"] = ["red"]
    with pytest.raises(ValueError, match=r"'colour' holds a list at row position 2"):
        dls.processor.encode(new)


# ----------------------------------------------------------------------------- shapes per batch
class _Batches:
    """Four batches of 16; from batch `change_at` on, `reshape(xb, yb)` changes them."""

    def __init__(self, change_at: int, reshape) -> None:
        self.change_at, self.reshape = change_at, reshape
        self.x, self.y = torch.randn(64, 3), torch.randn(64, 1)

    def __len__(self) -> int:
        return 4

    def __iter__(self):
        for i in range(4):
            batch = self.x[i * 16 : (i + 1) * 16], self.y[i * 16 : (i + 1) * 16]
            yield self.reshape(*batch) if i >= self.change_at else batch


def _fit(batches: _Batches) -> Learner:
    learn = Learner(
        DataLoaders(batches, None, device="cpu"), nn.Linear(3, 1), loss_func=nn.MSELoss()
    )
    learn.fit(1)
    return learn


def test_target_rank_changing_after_the_first_batch_is_named() -> None:
    with pytest.raises(ValueError, match=r"training batch 2: .*\(output \(16, 1\), target \(16,\)\)"
                       r".*first batch's \(output \(16, 1\), target \(16, 1\)\)"):  # fmt: skip
        _fit(_Batches(2, lambda xb, yb: (xb, yb[:, 0])))


def test_broadcast_starting_after_the_first_batch_is_an_error() -> None:
    # Same rank, but (16, 1) against (1, 1) broadcasts: torch only warns.
    with pytest.raises(ValueError, match=r"at training batch 3: .*size"):
        _fit(_Batches(3, lambda xb, yb: (xb, yb[:1])))


def test_steady_shapes_and_a_smaller_last_batch_train_quietly() -> None:
    learn = _fit(_Batches(3, lambda xb, yb: (xb[:5], yb[:5])))  # a partial last batch
    assert len(learn.recorder.losses) == 4


# ----------------------------------------------------------------------------- a single class
def _number_block(vocab=None) -> DataBlock:
    return DataBlock(
        (RegressionBlock(), CategoryBlock(vocab)),
        get_x=lambda n: float(n),
        get_y=lambda n: "small" if n < 30 else "large",
        splitter=IndexSplitter(list(range(30, 40))),
    )


# Without a vocab given, validation may only hold the training labels: all "small" then.
@pytest.mark.parametrize(
    ("vocab", "n_items", "n_train"), [(None, 30, 25), (["large", "small"], 40, 30)]
)
def test_a_single_training_class_is_warned_about(vocab, n_items: int, n_train: int) -> None:
    block = _number_block(vocab)
    block.splitter = IndexSplitter(list(range(n_train, n_items)))
    with pytest.warns(UserWarning, match=rf"a single class, 'small' \(all {n_train} items\)"):
        block.dataloaders(list(range(n_items)), bs=8, device="cpu")


def test_two_training_classes_raise_no_warning() -> None:
    block = _number_block()
    block.splitter = IndexSplitter(list(range(25, 35)))
    block.dataloaders(list(range(40)), bs=8, device="cpu")  # warnings are errors here


def test_a_single_class_table_is_warned_about() -> None:
    df = pd.DataFrame({"a": np.arange(20.0), "y": ["cat"] * 16 + ["dog"] * 4})
    with pytest.warns(UserWarning, match=r"a single class, 'cat' \(all 16 items\)"):
        TabularDataLoaders.from_df(
            df, y_names="y", cont_names=["a"], valid_idx=list(range(16, 20)), device="cpu"
        )


# ----------------------------------------------------------------------------- collab ratings
def _ratings(low: int, high: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {"user": rng.integers(0, 20, 300), "item": rng.integers(0, 15, 300),
         "rating": rng.integers(low, high + 1, 300).astype(float)}
    )  # fmt: skip


def test_default_y_range_follows_the_ratings() -> None:
    five = CollabDataLoaders.from_df(_ratings(1, 5), bs=32, seed=0, device="cpu")
    assert collab_learner(five, n_factors=4).model.y_range == (0.0, 5.5)  # the usual 1-5 range
    ten = CollabDataLoaders.from_df(_ratings(1, 10), bs=32, seed=0, device="cpu")
    learn = collab_learner(ten, n_factors=4)
    low, high = learn.model.y_range
    assert low < 1
    assert high > 10
    assert learn.export_spec["arch"]["y_range"] == [low, high]


def test_a_y_range_that_does_not_cover_the_ratings_is_refused() -> None:
    dls = CollabDataLoaders.from_df(_ratings(1, 10), bs=32, seed=0, device="cpu")
    message = r"y_range=\(0, 5\.5\) does not cover the ratings, which run from 1 to 10.*"
    with pytest.raises(ValueError, match=message + r"'auto' \(here \(-1\.25, 11\.125\)\)"):
        collab_learner(dls, n_factors=4, y_range=(0, 5.5))
    assert collab_learner(dls, n_factors=4, y_range=None).model.y_range is None


def test_y_range_from_loaders_without_a_recorded_range() -> None:
    built = CollabDataLoaders.from_df(_ratings(2, 4), bs=32, seed=0, device="cpu")
    dls = CollabDataLoaders(built.train, built.valid, built.vocab, built.names, device="cpu")
    assert collab_learner(dls, n_factors=4).model.y_range == (1.5, 4.25)


# ----------------------------------------------------------------------------- unequal sizes
def _mixed_sizes(folder: Path) -> Path:
    for label in ("a", "b"):
        (folder / label).mkdir()
        for i in range(6):
            height = 20 if i % 2 else 24
            Image.fromarray(np.zeros((height, 30, 3), np.uint8)).save(folder / label / f"{i}.png")
    return folder


@pytest.mark.parametrize("num_workers", [0, 1])
def test_images_of_mixed_sizes_name_the_files_and_suggest_resize(
    tmp_path: Path, num_workers: int
) -> None:
    dls = ImageDataLoaders.from_folder(
        _mixed_sizes(tmp_path), valid_pct=0.25, bs=4, num_workers=num_workers, device="cpu", seed=0
    )
    pattern = (
        r"images of one batch differ in size .*\(width x height\): "
        r"\S+[ab][/\\]\d\.png 30x(20|24), \S+[ab][/\\]\d\.png 30x(20|24); "
        r"add item_tfms=Resize\(size\)"
    )
    with pytest.raises(UnequalShapesError, match=pattern):
        dls.one_batch()
    with pytest.raises(UnequalShapesError, match=pattern):
        list(dls.valid)


def test_resized_images_of_mixed_sizes_batch(tmp_path: Path) -> None:
    dls = ImageDataLoaders.from_folder(
        _mixed_sizes(tmp_path), valid_pct=0.25, bs=4, device="cpu", seed=0, item_tfms=Resize(16)
    )
    assert dls.one_batch()[0].shape == (4, 3, 16, 16)


def test_plain_samples_of_unequal_shapes_name_the_items() -> None:
    collate = collate_for(None)
    samples = [(torch.zeros(3), 0), (torch.zeros(3), 1), (torch.zeros(4), 2)]
    with pytest.raises(UnequalShapesError, match=r"element 0 differs in shape: item 0 of the "
                       r"batch \(3,\), item 2 of the batch \(4,\)"):  # fmt: skip
        collate(samples)
    named = NamedSamples(samples, ["row 7", "row 8", "row 9"])
    with pytest.raises(UnequalShapesError, match=r"row 7 \(3,\), row 9 \(4,\)"):
        collate(named)
    assert collate(samples[:2])[0].shape == (2, 3)  # equal shapes collate as before
