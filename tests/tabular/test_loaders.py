"""TabularDataLoaders: splits, whole-tensor batches, test rows and decoded batches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from lamina.data.tensor_batches import TensorBatches
from lamina.tabular import Categorify, FillMissing, Standardize, TabularDataLoaders


def _dls(df: pd.DataFrame, **kwargs) -> TabularDataLoaders:
    kwargs.setdefault("cat_names", ["colour"])
    kwargs.setdefault("cont_names", ["size"])
    return TabularDataLoaders.from_df(df, y_names="label", device="cpu", **kwargs)


def test_batches_are_slices_of_whole_tensors(small_df: pd.DataFrame) -> None:
    dls = _dls(small_df, procs=[Categorify, FillMissing, Standardize], valid_idx=range(150, 200),
               bs=32, seed=0)  # fmt: skip
    assert isinstance(dls.train, TensorBatches)
    assert isinstance(dls.valid, TensorBatches)
    assert dls.n_inp == 2
    assert dls.loss_name == "cross_entropy_flat"
    assert dls.train.n == 150
    assert dls.valid.n == 50
    x_cat, x_cont, y = dls.one_batch()
    assert x_cat.shape == (32, 2)
    assert x_cont.shape == (32, 1)
    assert y.shape == (32,)
    assert len(dls.train) == 4  # the partial last batch is dropped: BatchNorm needs > 1 row
    # validation rows keep their order
    assert torch.equal(dls.valid.tensors[2], dls.processor.encode_y(small_df.iloc[150:]))


def test_split_options(small_df: pd.DataFrame) -> None:
    first = _dls(small_df, valid_pct=0.25, seed=3)
    again = _dls(small_df, valid_pct=0.25, seed=3)
    assert first.valid.n == 50
    assert torch.equal(first.valid.tensors[1], again.valid.tensors[1])
    by_splitter = _dls(small_df, splitter=lambda df: (np.arange(100), np.arange(100, 200)))
    assert by_splitter.train.n == 100
    assert by_splitter.valid.n == 100
    with pytest.raises(ValueError, match="valid_idx or splitter, not both"):
        _dls(small_df, valid_idx=[0], splitter=lambda df: ([1], [0]))
    with pytest.raises(ValueError, match="no training rows"):
        _dls(small_df, valid_idx=range(200))
    with pytest.raises(ValueError, match="row positions"):
        _dls(small_df, valid_idx=[500])
    with pytest.raises(ValueError, match="bs must be a positive integer"):
        _dls(small_df, bs=0)


def test_columns_default_to_cont_cat_split(small_df: pd.DataFrame) -> None:
    dls = TabularDataLoaders.from_df(small_df, y_names="label", seed=0)
    assert dls.processor.cat_names == ["colour"]
    assert dls.processor.cont_names == ["size"]


def test_from_csv_and_test_dl(small_df: pd.DataFrame, tmp_path: Path) -> None:
    small_df.to_csv(tmp_path / "table.csv", index=False)
    dls = TabularDataLoaders.from_csv(tmp_path / "table.csv", "label", cat_names=["colour"],
                                      cont_names=["size"], seed=0)  # fmt: skip
    test = dls.test_dl(small_df.drop(columns="label").iloc[:10])
    assert len(test.tensors) == 2
    assert test.n == 10
    assert len(dls.test_dl(small_df.iloc[:10]).tensors) == 3


def test_batch_frame_decodes_rows_and_show_batch_draws_them(small_df: pd.DataFrame) -> None:
    from matplotlib.figure import Figure

    dls = _dls(small_df, valid_idx=range(150, 200), bs=16, seed=0)
    frame = dls.batch_frame(max_n=5, ds_idx=1)
    expected = small_df.iloc[150:155]
    assert frame["label"].tolist() == expected["label"].tolist()
    assert frame["colour"].tolist() == expected["colour"].fillna("#na#").tolist()
    np.testing.assert_allclose(frame["size"], expected["size"].fillna(dls.processor.proc(
        FillMissing).fill_values["size"]), rtol=1e-5)  # fmt: skip
    fig = dls.show_batch(max_n=5, ds_idx=1)
    assert isinstance(fig, Figure)
    texts = [cell.get_text().get_text() for cell in fig.axes[0].tables[0].get_celld().values()]
    assert "colour" in texts
    assert str(expected["label"].iloc[0]) in texts


def test_empty_frame_and_missing_target_name(small_df: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="empty"):
        _dls(small_df.iloc[:0])
    with pytest.raises(ValueError, match="y_names must name"):
        TabularDataLoaders.from_df(small_df, y_names=[])
