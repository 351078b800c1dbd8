"""Procs: fitted on the training rows only, state as plain JSON, unseen and missing handled."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from lamina.tabular import Categorify, FillMissing, Standardize


def _fit(proc, df, cat_names=(), cont_names=()):
    cat_names, cont_names = list(cat_names), list(cont_names)
    proc.setup(df, cat_names, cont_names)
    return proc


def test_categorify_reserves_slot_zero_for_missing_and_unseen() -> None:
    train = pd.DataFrame({"c": ["b", "a", None, "b"], "n": [3, 1.0, 2, 3]})
    proc = _fit(Categorify(), train, ["c", "n"])
    assert proc.vocabs == {"c": ["#na#", "a", "b"], "n": ["#na#", 1, 2, 3]}
    new = pd.DataFrame({"c": ["a", "z", None], "n": [2.0, 9, None]})
    out = proc(new.copy(), ["c", "n"], [])
    assert out["c"].tolist() == [1, 0, 0]
    assert out["n"].tolist() == [2, 0, 0]
    assert out["c"].dtype == np.int64
    assert proc.decode("c", [2, 0]) == ["b", "#na#"]


def test_categorify_warns_about_a_single_valued_column() -> None:
    with pytest.warns(UserWarning, match="'c' has a single value"):
        proc = _fit(Categorify(), pd.DataFrame({"c": ["x", "x", "x"]}), ["c"])
    assert proc.vocabs["c"] == ["#na#", "x"]


def test_fill_missing_strategies_and_indicator() -> None:
    train = pd.DataFrame({"a": [1.0, np.nan, 3.0, 3.0, 10.0], "b": [1.0, 2.0, 3.0, 4.0, 5.0]})
    median = _fit(FillMissing(), train, cont_names=["a", "b"])
    assert median.fill_values == {"a": 3.0, "b": 3.0}
    assert median.added_cat_names == ["a_na"]
    assert _fit(FillMissing("mode"), train, cont_names=["a"]).fill_values["a"] == 3.0
    constant = _fit(FillMissing("constant", add_col=False, fill_val=-1), train, cont_names=["a"])
    assert constant.fill_values["a"] == -1.0
    assert constant.added_cat_names == []
    # "b" had no missing values in training: filled at inference, without an indicator.
    out = median(pd.DataFrame({"a": [np.nan, 2.0], "b": [np.nan, 7.0]}), [], ["a", "b"])
    assert out["a"].tolist() == [3.0, 2.0]
    assert out["a_na"].tolist() == [True, False]
    assert out["b"].tolist() == [3.0, 7.0]
    assert "b_na" not in out.columns


def test_fill_missing_validates_its_arguments() -> None:
    with pytest.raises(ValueError, match="fill_strategy must be one of"):
        FillMissing("mean")
    with pytest.raises(ValueError, match="fill_val must be a finite number"):
        FillMissing("constant", fill_val=float("inf"))
    with pytest.raises(ValueError, match="already exist"):
        _fit(FillMissing(), pd.DataFrame({"a": [np.nan, 1.0], "a_na": [1, 2]}), [], ["a"])


def test_normalize_uses_training_statistics() -> None:
    train = pd.DataFrame({"a": [1.0, 3.0], "k": [5.0, 5.0]})
    proc = _fit(Standardize(), train, cont_names=["a", "k"])
    assert proc.means == {"a": 2.0, "k": 5.0}
    assert proc.stds == {"a": 1.0, "k": 1.0}
    out = proc(pd.DataFrame({"a": [4.0], "k": [6.0]}), [], ["a", "k"])
    assert out["a"].tolist() == [2.0]
    assert out["k"].tolist() == [1.0]
    assert proc.decode("a", np.array([2.0])).tolist() == [4.0]


@pytest.mark.parametrize("proc_type", [Categorify, FillMissing, Standardize])
def test_state_round_trips_through_json(proc_type: type) -> None:
    train = pd.DataFrame({"c": ["x", "y", None], "a": [1.5, np.nan, 4.0], "i": [1, 2, 2]})
    cat_names = ["c", "i"] if proc_type is Categorify else []
    cont_names = [] if proc_type is Categorify else ["a"]
    proc = _fit(proc_type(), train, cat_names, cont_names)
    restored = proc_type.from_config(json.loads(json.dumps(proc.config())))
    new = pd.DataFrame({"c": ["y", "q", None], "a": [np.nan, 2.0, 8.0], "i": [2, 1, 7]})
    expected = proc(new.copy(), cat_names, cont_names)
    pd.testing.assert_frame_equal(restored(new.copy(), cat_names, cont_names), expected)
