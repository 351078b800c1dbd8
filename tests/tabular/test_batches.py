"""The processed table as pandas (`dls.train.xs`, `.ys`), for scikit-learn models."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from lamina.tabular import TabularBatches, TabularDataLoaders, load_penguins


@pytest.fixture
def penguins() -> pd.DataFrame:
    pytest.importorskip("palmerpenguins")
    df = load_penguins().dropna(subset=["species"])
    df.index = df.index + 1000  # labels that differ from positions, to check the index is kept
    return df


def _penguin_dls(df: pd.DataFrame, **kwargs) -> TabularDataLoaders:
    return TabularDataLoaders.from_df(
        df, y_names="species", cat_names=["island", "sex"],
        cont_names=["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"],
        valid_pct=0.3, seed=0, bs=32, device="cpu", **kwargs,
    )  # fmt: skip


def test_a_gradient_boosting_model_learns_from_the_processed_table(penguins) -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier

    dls = _penguin_dls(penguins)
    xs, ys = dls.train.xs, dls.train.ys
    categorical = [name in dls.processor.all_cat_names for name in xs.columns]
    gbm = HistGradientBoostingClassifier(max_iter=50, categorical_features=categorical,
                                         random_state=0).fit(xs, ys)  # fmt: skip
    assert gbm.score(dls.valid.xs, dls.valid.ys) > 0.9
    # The predicted codes name species through the loaders' vocabulary.
    predicted = [dls.vocab[code] for code in gbm.predict(dls.valid.xs)]
    truth = penguins.loc[dls.valid.xs.index, "species"].tolist()
    assert np.mean(np.array(predicted) == np.array(truth)) > 0.9


def test_xs_are_what_the_model_receives(penguins) -> None:
    dls = _penguin_dls(penguins)
    processor = dls.processor
    xs = dls.valid.xs
    assert list(xs.columns) == [*processor.all_cat_names, *processor.cont_names]
    assert "sex_na" not in xs.columns  # FillMissing flags only continuous columns
    assert "body_mass_g_na" in processor.all_cat_names
    x_cat, x_cont, y = dls.one_batch(ds_idx=1)  # validation batches keep the table's order
    n = len(y)
    np.testing.assert_array_equal(xs.iloc[:n, : x_cat.shape[1]].to_numpy(), x_cat.numpy())
    np.testing.assert_array_equal(xs.iloc[:n, x_cat.shape[1] :].to_numpy(), x_cont.numpy())
    np.testing.assert_array_equal(dls.valid.ys.iloc[:n].to_numpy(), y.numpy())
    assert xs.dtypes["island"] == np.int64
    assert xs.dtypes["bill_length_mm"] == np.float32
    # The whole training table, read in order, is the training tensors.
    train = dls.train.new(shuffle=False, drop_last=False)
    assert isinstance(train, TabularBatches)
    x_cat, x_cont, _ = (torch.cat(parts) for parts in zip(*train, strict=True))
    n_cat = x_cat.shape[1]
    np.testing.assert_array_equal(dls.train.xs.iloc[:, :n_cat].to_numpy(), x_cat.numpy())
    np.testing.assert_array_equal(dls.train.xs.iloc[:, n_cat:].to_numpy(), x_cont.numpy())


def test_rows_keep_their_original_labels(penguins) -> None:
    dls = _penguin_dls(penguins)
    train, valid = dls.train.xs, dls.valid.xs
    assert len(train) + len(valid) == len(penguins)
    assert set(train.index) | set(valid.index) == set(penguins.index)
    assert not set(train.index) & set(valid.index)
    # Values decode back to the raw rows with those labels.
    rows = penguins.loc[valid.index]
    assert [dls.vocab[code] for code in dls.valid.ys] == rows["species"].tolist()
    n_cat = len(dls.processor.all_cat_names)
    x_cat, x_cont = (torch.tensor(part.to_numpy()) for part in (valid.iloc[:, :n_cat],
                                                                valid.iloc[:, n_cat:]))  # fmt: skip
    decoded = dls.processor.decode_inputs(x_cat, x_cont)
    assert decoded["island"].tolist() == rows["island"].tolist()
    present = rows["bill_depth_mm"].notna().to_numpy()
    np.testing.assert_allclose(decoded["bill_depth_mm"].to_numpy()[present],
                               rows["bill_depth_mm"].to_numpy()[present], rtol=1e-5)  # fmt: skip


def test_test_rows_as_pandas(penguins) -> None:
    dls = _penguin_dls(penguins)
    new_rows = penguins.iloc[:5]
    test = dls.test_dl(new_rows)
    assert list(test.xs.index) == list(new_rows.index)
    assert list(test.ys) == [dls.vocab.index(s) for s in new_rows["species"]]
    unlabelled = dls.test_dl(new_rows.drop(columns="species"))
    assert unlabelled.xs.shape == (5, len(dls.train.feature_names))
    with pytest.raises(ValueError, match="no targets"):
        _ = unlabelled.ys


def test_regression_targets(small_df: pd.DataFrame) -> None:
    small_df = small_df.assign(score=np.arange(200, dtype="float64"), other=1.0)
    one = TabularDataLoaders.from_df(small_df, y_names="score", cat_names=["colour"],
                                     cont_names=["size"], valid_idx=range(150, 200))  # fmt: skip
    assert isinstance(one.valid.ys, pd.Series)
    np.testing.assert_array_equal(one.valid.ys.to_numpy(), np.arange(150, 200))
    two = TabularDataLoaders.from_df(small_df, y_names=["score", "other"], cat_names=["colour"],
                                     cont_names=["size"], valid_idx=range(150, 200))  # fmt: skip
    assert list(two.valid.ys.columns) == ["score", "other"]
    assert two.valid.ys.shape == (50, 2)


def test_bad_tensors_are_refused(small_df: pd.DataFrame) -> None:
    dls = TabularDataLoaders.from_df(small_df, y_names="label", cat_names=["colour"],
                                     cont_names=["size"], seed=0)  # fmt: skip
    x_cat, x_cont, _ = dls.train.tensors
    with pytest.raises(ValueError, match="processor names 2 categorical and 1 continuous"):
        TabularBatches(x_cat[:, :1], x_cont, processor=dls.processor)
    with pytest.raises(ValueError, match="index has 3 labels"):
        TabularBatches(x_cat, x_cont, processor=dls.processor, index=[0, 1, 2])
