"""Choosing columns for a tabular model, and expanding date columns into parts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

DATE_PARTS = (
    "year", "month", "week", "day", "day_of_week", "day_of_year", "is_month_end", "is_month_start",
    "is_quarter_end", "is_quarter_start", "is_year_end", "is_year_start",
)  # fmt: skip


def cont_cat_split(
    df: pd.DataFrame, max_card: int = 20, dep_var: str | Sequence[str] | None = None
) -> tuple[list[str], list[str]]:
    """Split the columns of `df` into `(cont_names, cat_names)`.

    The rule: float columns are continuous; integer columns are continuous when they have more
    than `max_card` distinct values and categorical otherwise; every other column (strings,
    booleans, pandas categoricals, dates left as values) is categorical. `dep_var` (one name or
    several) is left out of both lists.

    Example:
        >>> cont_names, cat_names = cont_cat_split(df, max_card=20, dep_var="income")
    """
    import pandas as pd

    if not isinstance(max_card, int) or max_card < 1:
        raise ValueError(f"max_card must be a positive integer, got {max_card!r}")
    targets = {dep_var} if isinstance(dep_var, str) else set(dep_var or ())
    absent = sorted(targets - set(df.columns))
    if absent:
        raise ValueError(f"dep_var names columns absent from the frame: {absent}")
    cont_names, cat_names = [], []
    for name in df.columns:
        if name in targets:
            continue
        column = df[name]
        if pd.api.types.is_float_dtype(column) or (
            pd.api.types.is_integer_dtype(column) and column.nunique() > max_card
        ):
            cont_names.append(name)
        else:
            cat_names.append(name)
    return cont_names, cat_names


def add_datepart(
    df: pd.DataFrame, field_name: str, prefix: str | None = None, drop: bool = True
) -> pd.DataFrame:
    """A copy of `df` with the date column `field_name` expanded into parts.

    Adds `<prefix>year, month, week, day, day_of_week, day_of_year`, the six
    `is_*_start/end` flags and `<prefix>elapsed` (seconds since 1970), where the prefix defaults
    to the column name minus a trailing "date" (`sale_date` -> `sale_`). Missing dates give
    missing parts, which `FillMissing` and `Categorify` then handle. The original column is
    dropped unless `drop=False`.
    """
    import pandas as pd

    if field_name not in df.columns:
        raise ValueError(f"field_name {field_name!r} is not a column; columns: {list(df.columns)}")
    try:
        dates = pd.to_datetime(df[field_name])
    except (ValueError, TypeError) as error:
        raise ValueError(f"column {field_name!r} cannot be read as dates: {error}") from error
    if dates.dt.tz is not None:
        dates = dates.dt.tz_convert("UTC").dt.tz_localize(None)
    if prefix is None:
        stem = field_name[:-4] if field_name.lower().endswith("date") else field_name
        prefix = stem if stem.endswith("_") or not stem else f"{stem}_"
    out = df.copy()
    for part in DATE_PARTS:
        if part == "week":
            values = dates.dt.isocalendar().week.astype("float64")
        else:
            values = getattr(dates.dt, part)
        out[f"{prefix}{part}"] = values
    # Missing dates become NaN rather than a huge negative number of seconds.
    elapsed = (dates - pd.Timestamp("1970-01-01")).dt.total_seconds()
    out[f"{prefix}elapsed"] = elapsed
    if drop:
        out = out.drop(columns=[field_name])
    return out
