"""Fixtures for the tabular tests: a small mixed table, and one torch thread."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    # These models are tiny: on a shared machine, one thread is faster than fighting for two.
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)


@pytest.fixture
def small_df() -> pd.DataFrame:
    """200 rows: a category that decides the class, a number, missing values in both."""
    rng = np.random.default_rng(0)
    colour = rng.choice(["red", "green", "blue"], size=200)
    size = rng.normal(10, 3, size=200)
    size[[3, 7, 11]] = np.nan
    colour = colour.astype(object)
    colour[[5, 9]] = None
    label = np.where((colour == "red") | (np.nan_to_num(size) > 12), "yes", "no")
    return pd.DataFrame({"colour": colour, "size": size, "label": label})
