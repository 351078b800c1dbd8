"""TabularProcessor: the target rule, fitting on training rows, and every bad-input case."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from lamina.tabular import Categorify, FillMissing, Standardize, TabularProcessor, infer_y_block


def test_infer_y_block_rule() -> None:
    df = pd.DataFrame({
        "s": ["a", "b"] * 100, "b": [True, False] * 100, "few": [1, 2] * 100,
        "many": np.arange(200), "f": np.linspace(0, 1, 200),
    })  # fmt: skip
    assert infer_y_block(df, ["s"]) == "category"
    assert infer_y_block(df, ["b"]) == "category"
    assert infer_y_block(df, ["few"]) == "category"
    assert infer_y_block(df, ["many"]) == "regression"
    assert infer_y_block(df, ["f"]) == "regression"
    assert infer_y_block(df, ["few", "many"]) == "regression"


def test_procs_are_fitted_on_training_rows_only(small_df: pd.DataFrame) -> None:
    df = small_df.copy()
    df.loc[150:, "colour"] = "purple"  # a value only in the validation rows
    processor = TabularProcessor(["colour"], ["size"], "label").fit(df, np.arange(150))
    assert "purple" not in processor.proc(Categorify).vocabs["colour"]
    train_sizes = df["size"][:150]
    assert processor.proc(Standardize).means["size"] == pytest.approx(
        train_sizes.fillna(train_sizes.median()).mean()
    )
    assert processor.proc(FillMissing).fill_values["size"] == pytest.approx(train_sizes.median())
    x_cat, x_cont, y = processor.encode(df)
    assert (x_cat[150:, 0] == 0).all()  # unseen in training -> slot 0
    assert x_cat.dtype == torch.int64
    assert x_cont.dtype == torch.float32
    assert y.dtype == torch.int64
    assert x_cat.shape == (200, 2)
    assert x_cont.shape == (200, 1)
    assert y.shape == (200,)
    assert processor.all_cat_names == ["colour", "size_na"]
    assert processor.cardinalities == [4, 3]
    assert processor.y_vocab == ["no", "yes"]
    assert processor.n_out == 2


def test_state_round_trip_gives_identical_tensors(small_df: pd.DataFrame) -> None:
    processor = TabularProcessor(["colour"], ["size"], "label").fit(small_df, np.arange(120))
    restored = TabularProcessor.from_config(json.loads(json.dumps(processor.config())))
    for ours, theirs in zip(processor.encode(small_df), restored.encode(small_df), strict=True):
        assert torch.equal(ours, theirs)


def test_regression_targets_are_float_columns(small_df: pd.DataFrame) -> None:
    df = small_df.assign(t1=np.arange(200.0), t2=np.ones(200))
    processor = TabularProcessor(["colour"], ["size"], ["t1", "t2"]).fit(df)
    y = processor.encode_y(df)
    assert processor.y_block == "regression"
    assert processor.n_out == 2
    assert y.shape == (200, 2)
    assert y.dtype == torch.float32
    assert y[5, 0] == 5.0
    forced = TabularProcessor(["colour"], ["size"], "label", y_block="category").fit(df)
    assert forced.y_block == "category"


def test_target_with_missing_values_is_refused(small_df: pd.DataFrame) -> None:
    small_df.loc[[4, 8], "label"] = None
    with pytest.raises(ValueError, match=r"target column 'label' has 2 missing value\(s\)"):
        TabularProcessor(["colour"], ["size"], "label").fit(small_df)


def test_absent_column_is_named(small_df: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match=r"columns \['weight'\] are named but absent"):
        TabularProcessor(["colour"], ["size", "weight"], "label").fit(small_df)
    processor = TabularProcessor(["colour"], ["size"], "label").fit(small_df)
    with pytest.raises(ValueError, match=r"columns \['colour'\] are named but absent"):
        processor.encode_inputs(small_df.drop(columns="colour"))


def test_empty_frame_is_refused(small_df: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="empty"):
        TabularProcessor(["colour"], ["size"], "label").fit(small_df.iloc[:0])
    with pytest.raises(ValueError, match="empty"):
        TabularProcessor(["colour"], ["size"], "label").fit(small_df, train_idx=[])


def test_infinities_in_continuous_columns_are_refused(small_df: pd.DataFrame) -> None:
    small_df.loc[[1, 2], "size"] = np.inf
    with pytest.raises(ValueError, match=r"'size' holds 2 infinite value\(s\)"):
        TabularProcessor(["colour"], ["size"], "label").fit(small_df)


def test_single_valued_categorical_column_is_kept_with_a_warning(small_df: pd.DataFrame) -> None:
    small_df["constant"] = "same"
    processor = TabularProcessor(["colour", "constant"], ["size"], "label")
    with pytest.warns(UserWarning, match="'constant' has a single value"):
        processor.fit(small_df)
    x_cat, _ = processor.encode_inputs(small_df)
    assert (x_cat[:, 1] == 1).all()


def test_constructor_and_fit_errors(small_df: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="more than one role"):
        TabularProcessor(["colour"], ["colour"], "label")
    with pytest.raises(ValueError, match="y_block must be one of"):
        TabularProcessor(["colour"], ["size"], "label", y_block="ordinal")
    with pytest.raises(ValueError, match="need Categorify"):
        TabularProcessor(["colour"], ["size"], "label", procs=[Standardize])
    with pytest.raises(ValueError, match="at least one input column"):
        TabularProcessor([], [], "label")
    with pytest.raises(ValueError, match="not numbers"):
        TabularProcessor([], ["colour"], "label").fit(small_df)
    with pytest.raises(ValueError, match="add FillMissing"):
        TabularProcessor(["colour"], ["size"], "label", procs=[Categorify]).fit(small_df).encode(
            small_df
        )
    processor = TabularProcessor(["colour"], ["size"], ["label", "x"], y_block="category")
    with pytest.raises(ValueError, match="one target column"):
        processor.fit(small_df.assign(x="a"))


def test_the_image_normalize_in_procs_fails_loudly_naming_standardize() -> None:
    from lamina.vision import Normalize

    with pytest.raises(ValueError, match="lamina.tabular.Standardize"):
        TabularProcessor(["colour"], ["size"], "label", procs=[Categorify, FillMissing, Normalize])
