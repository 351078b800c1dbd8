"""cont_cat_split's rule and add_datepart's parts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lamina.tabular import add_datepart, cont_cat_split


def test_cont_cat_split_follows_dtype_and_cardinality() -> None:
    df = pd.DataFrame({
        "price": np.linspace(0, 1, 30),
        "rooms": np.arange(30) % 5,
        "zip": np.arange(30),
        "city": ["a", "b", "c"] * 10,
        "new": [True, False] * 15,
        "y": np.arange(30) % 2,
    })  # fmt: skip
    cont, cat = cont_cat_split(df, max_card=20, dep_var="y")
    assert cont == ["price", "zip"]
    assert cat == ["rooms", "city", "new"]
    cont, cat = cont_cat_split(df, max_card=40, dep_var=["y", "city"])
    assert cont == ["price"]
    assert cat == ["rooms", "zip", "new"]


def test_cont_cat_split_rejects_bad_arguments() -> None:
    df = pd.DataFrame({"a": [1, 2]})
    with pytest.raises(ValueError, match="max_card"):
        cont_cat_split(df, max_card=0)
    with pytest.raises(ValueError, match="absent"):
        cont_cat_split(df, dep_var="target")


def test_add_datepart_expands_a_date_column() -> None:
    df = pd.DataFrame({"sale_date": ["2020-01-31", None, "2021-12-31"], "x": [1, 2, 3]})
    out = add_datepart(df, "sale_date")
    assert "sale_date" not in out.columns
    assert "sale_date" in df.columns
    assert out["sale_year"].tolist()[0::2] == [2020, 2021]
    assert out["sale_day_of_week"].tolist()[0::2] == [4, 4]  # both Fridays
    assert out["sale_week"].tolist()[0::2] == [5, 52]
    assert out["sale_is_month_end"].tolist() == [True, False, True]
    assert out["sale_is_year_end"].tolist() == [False, False, True]
    assert out["sale_elapsed"][0] == 1580428800.0
    assert np.isnan(out["sale_year"][1])
    assert np.isnan(out["sale_elapsed"][1])
    kept = add_datepart(df, "sale_date", prefix="d_", drop=False)
    assert "sale_date" in kept.columns
    assert "d_month" in kept.columns


def test_add_datepart_errors_name_the_column() -> None:
    with pytest.raises(ValueError, match="'when' is not a column"):
        add_datepart(pd.DataFrame({"x": [1]}), "when")
    with pytest.raises(ValueError, match="cannot be read as dates"):
        add_datepart(pd.DataFrame({"when": ["not a date"]}), "when")
