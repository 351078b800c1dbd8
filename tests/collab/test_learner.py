"""collab_learner: MovieLens metric, predictions, recommendations, analysis and export."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch

from lamina.collab import CollabDataLoaders, CollabLearner, collab_learner, load_movielens_100k
from lamina.inference import load_learner


@pytest.fixture
def trained(ratings: pd.DataFrame) -> CollabLearner:
    dls = CollabDataLoaders.from_df(ratings, valid_pct=0.2, seed=0, bs=64, device="cpu")
    learn = collab_learner(dls, n_factors=8, y_range=(0, 5.5))
    learn.progress.silent = True
    learn.fit_one_cycle(6, 3e-2, wd=0.1)
    return learn


def test_movielens_reaches_its_mse() -> None:
    pytest.importorskip("recbole")
    ratings = load_movielens_100k()
    # The three lines, with larger batches so that the test stays quick (the benchmark runs the
    # documented bs=64, 5 epochs, and reaches a lower MSE).
    dls = CollabDataLoaders.from_df(ratings, valid_pct=0.2, seed=42, bs=1024, device="cpu")
    learn = collab_learner(dls, n_factors=50, y_range=(0, 5.5))
    learn.progress.silent = True
    learn.fit_one_cycle(3, 3e-2, wd=0.1)
    (mse,) = learn.validate()
    assert mse <= 0.95  # predicting every rating's mean gives about 1.27


def test_learns_the_hidden_tastes(trained: CollabLearner) -> None:
    (mse,) = trained.validate()
    _, targs = trained.get_preds()
    assert mse < 0.6 * targs.var().item()


def test_predict_pairs(trained: CollabLearner, ratings: pd.DataFrame) -> None:
    row = ratings.iloc[0]
    one = trained.predict(row["user"], row["movie"])
    assert one.shape == (1,)
    many = trained.predict([row["user"]] * 2, [row["movie"], "m3"])
    assert many[0] == pytest.approx(one[0].item())
    assert torch.equal(trained.predict(row["user"], [row["movie"], "m3"]), many)
    assert ((many > 0) & (many < 5.5)).all()


def test_unknown_users_and_items_are_named(trained: CollabLearner) -> None:
    with pytest.raises(ValueError, match=r"unknown user\(s\) \[999\]"):
        trained.predict(999, "m1")
    with pytest.raises(ValueError, match=r"unknown item\(s\) \['Casablanca'\]"):
        trained.predict(1, "Casablanca")
    with pytest.raises(ValueError, match="unknown user"):
        trained.recommend("nobody")
    with pytest.raises(ValueError, match="got 2 users but 3 items"):
        trained.predict([1, 2], ["m1", "m2", "m3"])


def test_recommend_skips_rated_items(trained: CollabLearner, ratings: pd.DataFrame) -> None:
    user = int(ratings["user"].iloc[0])
    seen = set(ratings.loc[ratings["user"] == user, "movie"])
    top = trained.recommend(user, n=5)
    assert list(top.columns) == ["movie", "predicted_stars"]
    assert len(top) == 5
    assert not seen & set(top["movie"])
    assert top["predicted_stars"].is_monotonic_decreasing
    unseen = sorted(set(trained.dls.vocab.items) - seen)
    best = trained.predict(user, unseen).max().item()
    assert top["predicted_stars"].iloc[0] == pytest.approx(best)
    fewer = trained.recommend(user, n=5, exclude=[top["movie"].iloc[0]])
    assert fewer["movie"].iloc[0] == top["movie"].iloc[1]


def test_analysis_by_item_name(trained: CollabLearner) -> None:
    liked = trained.most_liked(5)
    biases = trained.bias(liked["movie"].tolist())
    assert torch.allclose(biases, torch.tensor(liked["bias"].tolist()))
    assert liked["bias"].is_monotonic_decreasing
    least = trained.least_liked(3)
    assert least["bias"].iloc[0] == pytest.approx(trained.bias().min().item())
    assert trained.weight(["m1", "m2"]).shape == (2, 8)
    assert trained.weight(is_item=False).shape == (60, 8)


def test_item_pca_plot(trained: CollabLearner) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = trained.plot_item_pca(n=10)
    assert isinstance(fig, plt.Figure)
    assert len(fig.axes[0].texts) == 10
    plt.close(fig)


def test_export_round_trip(trained: CollabLearner, tmp_path: Path) -> None:
    loaded = load_learner(trained.export(tmp_path / "collab.lamina"), device="cpu")
    assert isinstance(loaded, CollabLearner)
    users, items = [1, 2, 3], ["m0", "m5", "m9"]
    assert torch.equal(loaded.predict(users, items), trained.predict(users, items))
    # a loaded learner holds no ratings: only `exclude`d items are skipped
    top = loaded.recommend(1, n=3, exclude=["m0"])
    assert "m0" not in set(top["movie"])


def test_neural_network_variant(ratings: pd.DataFrame, tmp_path: Path) -> None:
    dls = CollabDataLoaders.from_df(ratings, valid_pct=0.2, seed=0, bs=64, device="cpu")
    learn = collab_learner(dls, use_nn=True, layers=[32], y_range=(0, 5.5))
    learn.progress.silent = True
    learn.fit_one_cycle(6, 1e-2, wd=0.1)
    (mse,) = learn.validate()
    _, targs = learn.get_preds()
    assert mse < 0.9 * targs.var().item()
    with pytest.raises(ValueError, match="only in the dot-product model"):
        learn.bias()
    loaded = load_learner(learn.export(tmp_path / "nn.lamina"), device="cpu")
    assert torch.equal(loaded.predict([1, 2], ["m0", "m1"]), learn.predict([1, 2], ["m0", "m1"]))
    with pytest.raises(ValueError, match="are for use_nn=True"):
        collab_learner(dls, layers=[8])


def test_fastai_model_methods_point_to_the_learner(trained: CollabLearner) -> None:
    with pytest.raises(AttributeError, match=r"use learn\.bias\(items, is_item=True\)"):
        trained.model.bias(["m0"])
    with pytest.raises(AttributeError, match=r"use learn\.weight\(items, is_item=True\)"):
        trained.model.weight(["m0"])
    with pytest.raises(AttributeError, match=r"use model\.item_bias"):
        trained.model.i_bias  # noqa: B018
    assert trained.bias(["m0"]).shape == (1,)
    assert getattr(trained.model, "bias", None) is None  # probes still see no attribute
