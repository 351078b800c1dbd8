"""Built-in real tables, read from packages that ship them, so examples run offline."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

PENGUINS_INSTALL = "pip install palmerpenguins"


def load_penguins() -> pd.DataFrame:
    """The Palmer penguins table: 344 real penguins, 3 species, from the `palmerpenguins` package.

    Columns: `species` (Adelie, Chinstrap, Gentoo), `island`, `sex` (categorical, with missing
    values), `bill_length_mm`, `bill_depth_mm`, `flipper_length_mm`, `body_mass_g` (with missing
    values) and `year`. Data: Gorman, Williams & Fraser (2014), CC0; the package is MIT-licensed.
    Needs the optional dependency: `pip install palmerpenguins` (or `lamina[tabular]`).

    Example:
        >>> df = load_penguins()
        >>> dls = TabularDataLoaders.from_df(df, y_names="species", seed=0)
    """
    try:
        from palmerpenguins import load_penguins as _load
    except ImportError as error:
        raise ImportError(
            f"the penguins table comes with the palmerpenguins package: {PENGUINS_INSTALL}"
        ) from error
    return _load()
