"""Tabular preprocessing steps: fitted on the training rows only, their state plain JSON.

A proc is fitted once with `setup` on the training rows and then applied with `__call__` to any
frame (training, validation, test, a single row to predict). It follows lamina's state protocol
(`lamina.core.registry`): its whole fitted state is the JSON that `config()` returns, saved with
an exported learner and read back with `from_config`, so nothing is pickled. Procs run in their
`order`, whatever order they are listed in: `FillMissing` first (its missing-indicator columns
are categorical), then `Categorify`, then `Standardize`.
"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING, Any

from lamina.core.registry import register
from lamina.data.vocab import distinct_labels, lookup_values

if TYPE_CHECKING:
    import pandas as pd

UNSEEN = "#na#"  # slot 0 of every category vocabulary: missing or unseen in training


class TabularProc:
    """Base class: a preprocessing step with JSON state. Subclasses set `order` and register
    themselves with `@register("tabular_proc", name)`."""

    order: int = 0

    def setup(self, df: pd.DataFrame, cat_names: list[str], cont_names: list[str]) -> None:
        """Fit on the training rows."""

    def __call__(
        self, df: pd.DataFrame, cat_names: list[str], cont_names: list[str]
    ) -> pd.DataFrame:
        """Apply to `df` (a frame this proc may change in place) and return it."""
        return df

    @property
    def added_cat_names(self) -> list[str]:
        """Categorical columns this proc adds (FillMissing's indicators)."""
        return []

    def config(self) -> dict[str, Any]:
        """The fitted state, as JSON-able data."""
        return {}

    @classmethod
    def from_config(cls, state: dict[str, Any]) -> TabularProc:
        """Rebuild a fitted proc from `config()`."""
        raise NotImplementedError


@register("tabular_proc", "fill_missing")
class FillMissing(TabularProc):
    """Fills missing values of continuous columns, and flags where they were.

    Args:
        fill_strategy: "median", "mode" (most frequent value) or "constant" (`fill_val`), computed
            on the training rows. A column missing everywhere is filled with `fill_val`.
        add_col: add a categorical column `<name>_na` (True where the value was missing) for each
            column with missing values in the training rows. A column whose values are missing
            only at inference is filled but has no indicator (the model's inputs are fixed).
        fill_val: the constant for "constant".
    """

    order = 10
    STRATEGIES = ("median", "mode", "constant")

    def __init__(
        self, fill_strategy: str = "median", add_col: bool = True, fill_val: float = 0.0
    ) -> None:
        if fill_strategy not in self.STRATEGIES:
            raise ValueError(
                f"fill_strategy must be one of {self.STRATEGIES}, got {fill_strategy!r}"
            )
        if not isinstance(fill_val, (int, float)) or not math.isfinite(fill_val):
            raise ValueError(f"fill_val must be a finite number, got {fill_val!r}")
        self.fill_strategy, self.add_col, self.fill_val = fill_strategy, add_col, float(fill_val)
        self.fill_values: dict[str, float] = {}
        self.na_names: list[str] = []

    def setup(self, df: pd.DataFrame, cat_names: list[str], cont_names: list[str]) -> None:
        self.fill_values = {name: self._fill_value(df[name]) for name in cont_names}
        self.na_names = [n for n in cont_names if self.add_col and df[n].isna().any()]
        clashes = [f"{n}_na" for n in self.na_names if f"{n}_na" in df.columns]
        if clashes:
            raise ValueError(f"FillMissing would add columns that already exist: {clashes}")

    def _fill_value(self, column: pd.Series) -> float:
        present = column.dropna()
        if self.fill_strategy == "constant" or present.empty:
            return self.fill_val
        if self.fill_strategy == "median":
            return float(present.median())
        return float(present.mode().iloc[0])

    def __call__(
        self, df: pd.DataFrame, cat_names: list[str], cont_names: list[str]
    ) -> pd.DataFrame:
        for name in self.na_names:
            df[f"{name}_na"] = df[name].isna()
        for name in cont_names:
            if df[name].isna().any():
                df[name] = df[name].fillna(self.fill_values[name])
        return df

    @property
    def added_cat_names(self) -> list[str]:
        return [f"{name}_na" for name in self.na_names]

    def config(self) -> dict[str, Any]:
        return {
            "fill_strategy": self.fill_strategy,
            "add_col": self.add_col,
            "fill_val": self.fill_val,
            "fill_values": self.fill_values,
            "na_names": self.na_names,
        }

    @classmethod
    def from_config(cls, state: dict[str, Any]) -> FillMissing:
        proc = cls(state["fill_strategy"], state["add_col"], state["fill_val"])
        proc.fill_values = {key: float(value) for key, value in state["fill_values"].items()}
        proc.na_names = list(state["na_names"])
        return proc


@register("tabular_proc", "categorify")
class Categorify(TabularProc):
    """Replaces each categorical value by its index in a vocabulary of the training values.

    Each vocabulary is `["#na#", *sorted training values]`: index 0 stands for a missing value or
    one not seen in training, so both are handled at inference. A column with a single training
    value carries no information; it is kept, with a warning.
    """

    order = 20

    def __init__(self) -> None:
        self.vocabs: dict[str, list] = {}

    def setup(self, df: pd.DataFrame, cat_names: list[str], cont_names: list[str]) -> None:
        self.vocabs = {}
        for name in cat_names:
            keys = distinct_labels(df[name])
            if len(keys) == 1:
                warnings.warn(
                    f"categorical column {name!r} has a single value ({keys[0]!r}) in the "
                    "training rows; it carries no information (kept; drop it from cat_names "
                    "to silence this)",
                    UserWarning,
                    stacklevel=2,
                )
            self.vocabs[name] = [UNSEEN, *keys]

    def __call__(
        self, df: pd.DataFrame, cat_names: list[str], cont_names: list[str]
    ) -> pd.DataFrame:
        for name in cat_names:
            index = {key: i for i, key in enumerate(self.vocabs[name][1:], start=1)}
            codes = lookup_values(df[name]).map(index)
            df[name] = codes.fillna(0).astype("int64")
        return df

    def decode(self, name: str, codes: Any) -> list:
        """The values behind integer `codes` of column `name` (`"#na#"` for slot 0)."""
        vocab = self.vocabs[name]
        return [vocab[int(code)] for code in codes]

    def config(self) -> dict[str, Any]:
        return {"vocabs": self.vocabs}

    @classmethod
    def from_config(cls, state: dict[str, Any]) -> Categorify:
        proc = cls()
        proc.vocabs = {key: list(value) for key, value in state["vocabs"].items()}
        return proc


@register("tabular_proc", "normalize")
class Standardize(TabularProc):
    """Standardizes continuous columns with the training rows' mean and standard deviation.

    A constant column (standard deviation 0) is only centred.
    """

    order = 30

    def __init__(self) -> None:
        self.means: dict[str, float] = {}
        self.stds: dict[str, float] = {}

    def setup(self, df: pd.DataFrame, cat_names: list[str], cont_names: list[str]) -> None:
        self.means, self.stds = {}, {}
        for name in cont_names:
            values = df[name].astype("float64")
            mean, std = float(values.mean()), float(values.std(ddof=0))
            self.means[name] = 0.0 if math.isnan(mean) else mean
            self.stds[name] = std if std > 0 and math.isfinite(std) else 1.0

    def __call__(
        self, df: pd.DataFrame, cat_names: list[str], cont_names: list[str]
    ) -> pd.DataFrame:
        for name in cont_names:
            df[name] = (df[name].astype("float64") - self.means[name]) / self.stds[name]
        return df

    def decode(self, name: str, values: Any) -> Any:
        """Undo the standardization of column `name`."""
        return values * self.stds[name] + self.means[name]

    def config(self) -> dict[str, Any]:
        return {"means": self.means, "stds": self.stds}

    @classmethod
    def from_config(cls, state: dict[str, Any]) -> Standardize:
        proc = cls()
        proc.means = {key: float(value) for key, value in state["means"].items()}
        proc.stds = {key: float(value) for key, value in state["stds"].items()}
        return proc
