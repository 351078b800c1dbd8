"""MovieLens 100K read in place from the recbole package."""

from __future__ import annotations

import importlib.util

import pytest

from lamina.collab import load_movielens_100k


def test_movielens_100k() -> None:
    pytest.importorskip("recbole")
    ratings = load_movielens_100k()
    assert ratings.shape == (100_000, 4)
    assert ratings["user_id"].nunique() == 943
    assert ratings["item_id"].nunique() == 1682
    assert sorted(ratings["rating"].unique()) == [1, 2, 3, 4, 5]
    titled = load_movielens_100k(titles=True)
    assert titled.loc[ratings["item_id"] == 1, "title"].iloc[0] == "Toy Story (1995)"


def test_absent_recbole_names_the_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match="pip install --no-deps recbole"):
        load_movielens_100k()
