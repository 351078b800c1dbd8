"""Checks on a DataFrame's shape that pandas would otherwise fail on obscurely, later.

A column label that appears twice makes `df[name]` a frame instead of a column, and a cell
holding a list (or dict, set, array) cannot be a category: both are reported here naming the
column (and the first row at fault), before any proc runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

_UNHASHABLE = (list, dict, set, np.ndarray)


def check_unique_columns(df: pd.DataFrame, names: Sequence[str] | None = None) -> None:
    """Raise a `ValueError` naming the labels among `names` (None: every column) that `df` holds
    more than once."""
    duplicated = df.columns[df.columns.duplicated()]
    if names is not None:
        wanted = set(names)
        duplicated = [name for name in duplicated if name in wanted]
    if len(duplicated):
        shown = sorted({str(name) for name in duplicated})
        raise ValueError(
            f"the frame has more than one column named {shown}; rename or drop the copies, "
            "e.g. df = df.loc[:, ~df.columns.duplicated()]"
        )


def check_scalar_cells(df: pd.DataFrame, names: Sequence[str], role: str) -> None:
    """Raise a `ValueError` naming the first column of `names` with a list-like cell (and its
    row): a category must be one value per row."""
    for name in names:
        column = df[name]
        if column.dtype != object:  # only object columns can hold Python containers
            continue
        bad = column.map(lambda value: isinstance(value, _UNHASHABLE)).to_numpy(dtype=bool)
        if bad.any():
            position = int(bad.argmax())
            value = column.iloc[position]
            raise ValueError(
                f"{role} column {name!r} holds a {type(value).__name__} at row position "
                f"{position} (index {column.index[position]!r}): {value!r:.60}; a category must "
                "be one value per row: join it into a string (e.g. df[col].map('|'.join)) or "
                "give each entry a column of its own"
            )
