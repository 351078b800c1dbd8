"""What an exported collaborative-filtering model takes: (user, item) index pairs."""

from __future__ import annotations

import pandas as pd
import torch

from lamina.collab import CollabDataLoaders, collab_learner
from lamina.collab.graph_inputs import graph_inputs


def test_example_pairs_are_the_first_and_last_indices() -> None:
    ratings = pd.DataFrame({"user": [1, 2, 3, 1] * 5, "item": [5, 6, 7, 8] * 5,
                            "rating": [1.0, 2.0, 3.0, 4.0] * 5})  # fmt: skip
    learn = collab_learner(CollabDataLoaders.from_df(ratings, seed=0), n_factors=3)
    inputs = graph_inputs(learn)
    (x,) = inputs.example
    assert inputs.names == ("x",)
    assert x.dtype == torch.int64
    assert x.tolist() == [[0, 0], [2, 3]]  # 3 users, 4 items
    assert learn.model.eval()(x).shape == (2,)
