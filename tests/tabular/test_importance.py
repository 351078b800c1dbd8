"""permutation_importance finds the columns a model relies on."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from lamina.tabular import TabularDataLoaders, permutation_importance, tabular_learner


def test_the_deciding_column_ranks_first() -> None:
    rng = np.random.default_rng(0)
    n = 600
    df = pd.DataFrame({
        "signal": rng.normal(size=n),
        "noise": rng.normal(size=n),
        "shade": rng.choice(["a", "b", "c"], size=n),
    })  # fmt: skip
    df.loc[rng.choice(n, 30, replace=False), "signal"] = np.nan
    df["y"] = np.where(df["signal"].fillna(0) > 0, "pos", "neg")
    dls = TabularDataLoaders.from_df(
        df, y_names="y", cat_names=["shade"], cont_names=["signal", "noise"], seed=0, device="cpu"
    )
    learn = tabular_learner(dls, layers=[32])
    learn.progress.silent = True
    learn.fit_one_cycle(4, 1e-2)
    importance = permutation_importance(learn, n_repeats=2)
    # the missing-value indicator moves with its column, so it is not listed on its own
    assert sorted(importance.index) == ["noise", "shade", "signal"]
    assert importance.index[0] == "signal"
    assert importance["signal"] > 0.3
    assert abs(importance["noise"]) < 0.1

    def acc(out: torch.Tensor, targ: torch.Tensor) -> float:
        return (out.argmax(-1) == targ).float().mean().item()

    by_accuracy = permutation_importance(learn, score_func=acc)
    assert by_accuracy.index[0] == "signal"
    assert by_accuracy["signal"] > 0.2
    with pytest.raises(ValueError, match="n_repeats"):
        permutation_importance(learn, n_repeats=0)
