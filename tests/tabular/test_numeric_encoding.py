"""Piecewise-linear encoding of numbers: bins fitted on training rows, their values, the JSON
state, and learning with them on a real table."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from lamina.inference import load_learner
from lamina.tabular import (
    PiecewiseLinearEncoding,
    TabularDataLoaders,
    TabularModel,
    quantile_bin_edges,
    tabular_learner,
)
from lamina.train.metrics import accuracy


def test_few_distinct_values_are_the_edges_and_quantiles_otherwise() -> None:
    rng = np.random.default_rng(0)
    few = rng.choice([1.0, 2.0, 5.0, 9.0], size=500)
    many = rng.normal(size=500)
    edges = quantile_bin_edges(np.stack([few, many], axis=1), n_bins=8)
    assert edges[0] == [1.0, 2.0, 5.0, 9.0]
    assert len(edges[1]) == 9
    assert edges[1][0] == many.min()
    assert edges[1][-1] == many.max()
    assert edges[1] == pytest.approx(np.quantile(many, np.linspace(0, 1, 9)).tolist())


def test_a_tied_mass_is_one_edge_and_the_other_rows_share_the_bins() -> None:
    # A capital-gain-like column: 90% zeros, the rest spread out. Plain quantiles would give
    # the zeros 8 of 9 edges and leave one bin for every non-zero value.
    rng = np.random.default_rng(0)
    column = np.where(rng.random(2000) < 0.9, 0.0, rng.uniform(100, 10_000, 2000))
    edges = quantile_bin_edges(column[:, None], n_bins=8)[0]
    assert edges[0] == 0.0
    assert len(edges) == 9  # 0 and 8 quantiles of the non-zero rows
    assert edges[1] == pytest.approx(column[column > 0].min())


def test_constant_column_and_bad_input() -> None:
    assert quantile_bin_edges(torch.full((5, 1), 3.0), n_bins=4) == [[2.5, 3.5]]
    with pytest.raises(ValueError, match="n_bins"):
        quantile_bin_edges(np.zeros((5, 1)), n_bins=0)
    with pytest.raises(ValueError, match="NaN or infinite"):
        quantile_bin_edges(np.array([[1.0], [np.nan]]), n_bins=4)
    with pytest.raises(ValueError, match=r"bin_edges\[1\]"):
        PiecewiseLinearEncoding([[0.0, 1.0], [2.0, 2.0]])


def test_encoding_fills_the_bins_below_and_extends_the_outer_ones() -> None:
    encoding = PiecewiseLinearEncoding([[0.0, 1.0, 3.0, 4.0], [10.0, 20.0]])
    assert encoding.n_features == 4  # 3 bins, then 1
    x = torch.tensor([[0.5, 15.0], [3.0, 30.0], [-1.0, 0.0], [6.0, 10.0]])
    expected = torch.tensor(
        [
            [0.5, 0.0, 0.0, 0.5],
            [1.0, 1.0, 0.0, 2.0],  # a value on an edge fills the bins below it; 30 is past the end
            [-1.0, 0.0, 0.0, -1.0],  # below the first edge: the first bin goes negative
            [1.0, 1.0, 3.0, 0.0],  # above the last edge (6 in a bin from 3 to 4): past 1
        ]
    )
    torch.testing.assert_close(encoding(x), expected)


@pytest.fixture(scope="module")
def penguins() -> pd.DataFrame:
    palmerpenguins = pytest.importorskip("palmerpenguins")
    return palmerpenguins.load_penguins()


def test_bins_are_fitted_on_training_rows_only(penguins: pd.DataFrame) -> None:
    df = penguins.copy()
    valid_idx = np.arange(len(df) - 40, len(df))
    df.loc[valid_idx, "body_mass_g"] = 50_000.0  # absurd values, all in the validation rows
    dls = TabularDataLoaders.from_df(df, y_names="species", cont_names=["body_mass_g"],
                                     cat_names=["island"], valid_idx=valid_idx,
                                     device="cpu")  # fmt: skip
    learn = tabular_learner(dls, n_bins=8)
    edges = learn.export_spec["arch"]["cont_bins"][0]
    train_x = dls.train.tensors[1][:, 0]
    assert edges[0] == pytest.approx(train_x.min().item())
    assert edges[-1] == pytest.approx(train_x.max().item())
    assert edges[-1] < dls.valid.tensors[1][:, 0].min().item()  # the 50 kg birds are not in it
    assert tabular_learner(dls, n_bins=None).model.cont_encoding is None


def test_learns_on_penguins_and_the_json_state_reproduces_it(
    penguins: pd.DataFrame, tmp_path: Path
) -> None:
    torch.manual_seed(0)
    cont_names = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
    dls = TabularDataLoaders.from_df(penguins, y_names="species", cont_names=cont_names,
                                     cat_names=[], seed=0, device="cpu")  # fmt: skip
    learn = tabular_learner(dls, metrics=accuracy, n_bins=16)
    learn.progress.silent = True
    learn.fit_one_cycle(4, 1e-2)
    assert learn.validate()[1] >= 0.95
    bins = learn.model.cont_encoding.bin_edges
    assert len(bins) == 4
    assert all(2 <= len(edges) <= 17 for edges in bins)

    path = learn.export(tmp_path / "penguins.lamina")
    loaded = load_learner(path, device="cpu")
    assert loaded.export_spec["arch"]["cont_bins"] == json.loads(json.dumps(bins))
    assert not any("cont_encoding" in key for key in loaded.model.state_dict())  # JSON holds them
    rows = penguins.sample(30, random_state=1)
    preds, _ = learn.get_preds(dl=dls.test_dl(rows))
    loaded_preds, _ = loaded.get_preds(dl=loaded.dls.test_dl(rows))
    assert torch.equal(preds, loaded_preds)


def test_model_checks_one_list_of_edges_per_column() -> None:
    with pytest.raises(ValueError, match="one list of edges per continuous column"):
        TabularModel([(4, 3)], n_cont=2, n_out=2, cont_bins=[[0.0, 1.0]])
