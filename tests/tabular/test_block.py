"""TabularBlock: the DataBlock-style recipe with lamina's splitters and blocks."""

from __future__ import annotations

import pandas as pd
import pytest

from lamina.data.blocks import CategoryBlock, RegressionBlock
from lamina.data.splitters import ColSplitter, IndexSplitter
from lamina.tabular import TabularBlock, TabularDataLoaders


def test_block_with_a_column_splitter(small_df: pd.DataFrame) -> None:
    small_df["is_valid"] = [i >= 160 for i in range(200)]
    block = TabularBlock(["colour"], ["size"], "label", y_block=CategoryBlock,
                         splitter=ColSplitter("is_valid"))  # fmt: skip
    dls = block.dataloaders(small_df, bs=16, seed=0, device="cpu")
    assert isinstance(dls, TabularDataLoaders)
    assert dls.train.n == 160
    assert dls.valid.n == 40
    same = TabularDataLoaders.from_df(small_df, "label", ["colour"], ["size"],
                                      valid_idx=range(160, 200), device="cpu")  # fmt: skip
    assert dls.processor.config() == same.processor.config()


def test_block_summary_walks_one_row(small_df: pd.DataFrame) -> None:
    block = TabularBlock(["colour"], ["size"], "label", splitter=IndexSplitter(range(100, 200)))
    text = block.summary(small_df, show=False)
    assert "100 training rows" in text
    assert "after FillMissing" in text
    assert "after Categorify" in text
    assert "x_cat (1, 2)" in text
    assert "loss cross-entropy" in text


def test_block_arguments_are_checked(small_df: pd.DataFrame) -> None:
    assert TabularBlock(["colour"], [], "size", y_block=RegressionBlock()).y_block == "regression"
    with pytest.raises(ValueError, match="y_block must be"):
        TabularBlock(["colour"], ["size"], "label", y_block=int)
    with pytest.raises(ValueError, match="splitter must be callable"):
        TabularBlock(["colour"], ["size"], "label", splitter=0.2)
    with pytest.raises(ValueError, match="more than one role"):
        TabularBlock(["colour"], ["colour"], "label")
