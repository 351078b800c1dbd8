"""tabular_learner end to end on the built-in penguins: metrics reached, predict, export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from lamina.inference import load_learner
from lamina.tabular import TabularDataLoaders, TabularLearner, tabular_learner
from lamina.train.metrics import accuracy

palmerpenguins = pytest.importorskip("palmerpenguins")


@pytest.fixture(scope="module")
def penguins() -> pd.DataFrame:
    return palmerpenguins.load_penguins()


@pytest.fixture(scope="module")
def trained(penguins: pd.DataFrame) -> TabularLearner:
    torch.manual_seed(0)
    torch.set_num_threads(1)
    # The README's three lines:
    dls = TabularDataLoaders.from_df(penguins, y_names="species", seed=0, device="cpu")
    learn = tabular_learner(dls, metrics=accuracy)
    learn.progress.silent = True
    learn.fit_one_cycle(5, 1e-2)
    return learn


def test_three_lines_classify_penguins(trained: TabularLearner) -> None:
    loss, acc = trained.validate()
    assert acc >= 0.95
    assert trained.dls.processor.y_vocab == ["Adelie", "Chinstrap", "Gentoo"]


def test_predict_a_row_as_series_or_dict(trained: TabularLearner, penguins: pd.DataFrame) -> None:
    gentoo = penguins.iloc[200]
    assert gentoo["species"] == "Gentoo"
    label, index, probs = trained.predict(gentoo)
    assert label == "Gentoo"
    assert int(index) == 2
    assert probs.shape == (3,)
    assert probs.sum().item() == pytest.approx(1.0)
    as_dict = trained.predict(gentoo.to_dict())
    assert torch.allclose(as_dict[2], probs)


def test_predict_handles_unseen_categories_and_missing_values(trained: TabularLearner) -> None:
    row = {
        "island": "Atlantis",
        "sex": None,
        "bill_length_mm": np.nan,
        "year": 1850,
        "bill_depth_mm": 14.0,
        "flipper_length_mm": 220.0,
    }  # fmt: skip (body mass absent)
    label, _, probs = trained.predict(row)
    assert label == "Gentoo"
    assert torch.isfinite(probs).all()
    with pytest.raises(ValueError, match="dict or a pandas Series"):
        trained.predict([1, 2, 3])


def test_export_round_trip_gives_identical_predictions(
    trained: TabularLearner, penguins: pd.DataFrame, tmp_path: Path
) -> None:
    path = trained.export(tmp_path / "penguins.lamina")
    loaded = load_learner(path, device="cpu")
    assert isinstance(loaded, TabularLearner)
    rows = penguins.sample(20, random_state=0)
    for _, row in rows.iterrows():
        ours, theirs = trained.predict(row), loaded.predict(row)
        assert ours[0] == theirs[0]
        assert torch.equal(ours[2], theirs[2])
    test = trained.dls.test_dl(rows)
    preds, targs = trained.get_preds(dl=test)
    loaded_preds, _ = loaded.get_preds(dl=loaded.dls.test_dl(rows))
    assert torch.equal(preds, loaded_preds)


def test_regression_with_y_range(penguins: pd.DataFrame) -> None:
    df = penguins.dropna(subset=["body_mass_g"])
    dls = TabularDataLoaders.from_df(
        df,
        y_names="body_mass_g",
        cat_names=["species", "sex"],
        cont_names=["flipper_length_mm"],
        seed=0,
        device="cpu",
    )
    assert dls.processor.y_block == "regression"
    assert dls.loss_name == "mse_flat"
    learn = tabular_learner(dls, y_range=(2500, 6500))
    learn.progress.silent = True
    learn.fit_one_cycle(8, 3e-2)
    preds, targs = learn.get_preds()
    rmse = (preds - targs).square().mean().sqrt().item()
    assert preds.shape == (len(targs), 1)
    assert rmse < 0.5 * targs.std().item()  # most of the spread in body mass explained
    value, out, _ = learn.predict(df.iloc[0])
    assert isinstance(value, float)
    assert 2500 < value < 6500
    assert out.shape == (1,)


def test_multi_target_regression(penguins: pd.DataFrame) -> None:
    df = penguins.dropna(subset=["bill_length_mm", "bill_depth_mm"])
    dls = TabularDataLoaders.from_df(df, y_names=["bill_length_mm", "bill_depth_mm"],
                                     cat_names=["species", "sex"], cont_names=["body_mass_g"],
                                     seed=0, device="cpu")  # fmt: skip
    learn = tabular_learner(dls)
    learn.progress.silent = True
    learn.fit_one_cycle(8, 3e-2)
    preds, targs = learn.get_preds()
    assert preds.shape == targs.shape == (len(targs), 2)
    r2 = 1 - (preds - targs).square().mean(0) / targs.var(0)
    assert (r2 > 0.5).all()
    values, _, _ = learn.predict(df.iloc[0])
    assert len(values) == 2


def test_factory_arguments_are_checked(trained: TabularLearner) -> None:
    dls = trained.dls
    with pytest.raises(ValueError, match="y_range is for regression"):
        tabular_learner(dls, y_range=(0, 1))
    with pytest.raises(ValueError, match="not categorical inputs"):
        tabular_learner(dls, emb_szs={"bill_length_mm": 4})
    with pytest.raises(ValueError, match="TabularDataLoaders"):
        tabular_learner(object())
    learn = tabular_learner(dls, layers=[16], emb_szs={"island": 7})
    assert learn.model.embeds[0].embedding_dim == 7
    assert learn.model.layers[0].out_features == 16
