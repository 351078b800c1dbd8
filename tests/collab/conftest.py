"""Fixtures for the collab tests: one torch thread."""

from __future__ import annotations

from collections.abc import Iterator

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
def ratings():
    """Synthetic ratings from hidden biases and tastes: 60 users x 40 items, 1,500 pairs."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    users, items = rng.normal(size=(60, 3)), rng.normal(size=(40, 3))
    pairs = rng.choice(60 * 40, size=1500, replace=False)
    user, item = pairs // 40, pairs % 40
    user_bias, item_bias = rng.normal(size=60), rng.normal(size=40)
    score = 3 + user_bias[user] + item_bias[item] + 0.5 * (users[user] * items[item]).sum(1)
    return pd.DataFrame({
        "user": user, "movie": [f"m{i}" for i in item], "stars": np.clip(score, 1, 5).round()
    })  # fmt: skip
