"""CollabDataLoaders: columns, split, duplicates and the bad-input cases."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from lamina.collab import CollabDataLoaders
from lamina.data.tensor_batches import TensorBatches


def test_defaults_take_the_first_three_columns(ratings: pd.DataFrame) -> None:
    dls = CollabDataLoaders.from_df(ratings, valid_pct=0.2, seed=42, bs=64, device="cpu")
    assert dls.names == ["user", "movie", "stars"]
    assert isinstance(dls.train, TensorBatches)
    assert (dls.train.n, dls.valid.n) == (1200, 300)
    x, y = dls.one_batch()
    assert x.shape == (64, 2)
    assert x.dtype == torch.int64
    assert y.shape == (64,)
    assert y.dtype == torch.float32
    assert len(dls.vocab.users) == 60
    assert dls.vocab.items[:3] == ["m0", "m1", "m10"]
    # the indices decode back to the original rows
    users = [dls.vocab.users[i] for i in dls.rated[:, 0].tolist()]
    items = [dls.vocab.items[i] for i in dls.rated[:, 1].tolist()]
    assert users == ratings["user"].tolist()
    assert items == ratings["movie"].tolist()


def test_named_columns_and_seeded_split(ratings: pd.DataFrame) -> None:
    shuffled = ratings[["stars", "movie", "user"]]
    dls = CollabDataLoaders.from_df(shuffled, user_name="user", item_name="movie",
                                    rating_name="stars", seed=1, device="cpu")  # fmt: skip
    again = CollabDataLoaders.from_df(shuffled, user_name="user", item_name="movie",
                                      rating_name="stars", seed=1, device="cpu")  # fmt: skip
    assert torch.equal(dls.valid.tensors[0], again.valid.tensors[0])
    assert dls.loss_name == "mse_flat"


def test_from_csv(ratings: pd.DataFrame, tmp_path: Path) -> None:
    ratings.to_csv(tmp_path / "r.tsv", sep="\t", index=False)
    dls = CollabDataLoaders.from_csv(tmp_path / "r.tsv", sep="\t", seed=0, device="cpu")
    assert dls.train.n + dls.valid.n == 1500


def test_duplicate_pairs_are_merged_before_the_split() -> None:
    df = pd.DataFrame({"u": [1, 1, 2, 2, 3], "i": ["a", "a", "a", "b", "b"],
                       "r": [1.0, 4.0, 3.0, 5.0, 2.0]})  # fmt: skip
    mean = CollabDataLoaders.from_df(df, valid_pct=0.2, seed=0, device="cpu")
    assert len(mean.rated) == 4
    ratings = torch.cat([mean.train.tensors[1], mean.valid.tensors[1]]).sort().values
    assert ratings.tolist() == [2.0, 2.5, 3.0, 5.0]
    last = CollabDataLoaders.from_df(df, valid_pct=0.2, seed=0, duplicates="last", device="cpu")
    ratings = torch.cat([last.train.tensors[1], last.valid.tensors[1]]).sort().values
    assert ratings.tolist() == [2.0, 3.0, 4.0, 5.0]
    with pytest.raises(ValueError, match=r"2 rows repeat a \(user, item\) pair"):
        CollabDataLoaders.from_df(df, duplicates="error")
    with pytest.raises(ValueError, match="duplicates must be one of"):
        CollabDataLoaders.from_df(df, duplicates="sum")


@pytest.mark.parametrize(
    ("frame", "kwargs", "message"),
    [
        (pd.DataFrame({"u": [], "i": [], "r": []}), {}, "empty"),
        (pd.DataFrame({"u": [1], "i": [2], "r": [3.0]}), {"item_name": "movie"},
         r"\['movie'\] are named but absent"),
        (pd.DataFrame({"u": [1], "i": [2]}), {}, "needs user, item and rating"),
        (pd.DataFrame({"u": [1, None], "i": [2, 3], "r": [3.0, 4.0]}), {}, "missing values"),
        (pd.DataFrame({"u": [1, 2], "i": [2, 3], "r": ["good", "bad"]}), {}, "must hold numbers"),
        (pd.DataFrame({"u": [1, 2], "i": [2, 3], "r": [np.inf, 4.0]}), {}, "infinite"),
        (pd.DataFrame({"u": [1], "i": [2], "r": [3.0]}), {"item_name": "u"}, "three different"),
        (pd.DataFrame({"u": [1], "i": [2], "r": [3.0]}), {"bs": 0}, "bs must be"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_clearly(frame: pd.DataFrame, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CollabDataLoaders.from_df(frame, **kwargs)


def test_batch_frame_decodes_and_show_batch_draws(ratings: pd.DataFrame) -> None:
    from matplotlib.figure import Figure

    dls = CollabDataLoaders.from_df(ratings, seed=0, device="cpu")
    frame = dls.batch_frame(max_n=4, ds_idx=1)
    assert list(frame.columns) == ["user", "movie", "stars"]
    merged = frame.merge(ratings, on=["user", "movie"], suffixes=("", "_original"))
    assert len(merged) == 4
    assert (merged["stars"] == merged["stars_original"]).all()
    fig = dls.show_batch(max_n=4, ds_idx=1)
    assert isinstance(fig, Figure)
    cells = fig.axes[0].tables[0].get_celld().values()
    assert "movie" in [cell.get_text().get_text() for cell in cells]
