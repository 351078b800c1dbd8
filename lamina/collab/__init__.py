"""The collaborative-filtering application: ratings to index pairs, and `collab_learner`.

Example:
    >>> from lamina.collab import CollabDataLoaders, collab_learner, load_movielens_100k
    >>> dls = CollabDataLoaders.from_df(load_movielens_100k(), valid_pct=0.2, seed=42, bs=64)
    >>> learn = collab_learner(dls, n_factors=50, y_range=(0, 5.5))
    >>> learn.fit_one_cycle(5, 5e-3, wd=0.1)
"""

from typing import TYPE_CHECKING, Any

from lamina.collab.builtin import load_movielens_100k, movielens_100k_folder
from lamina.collab.learner import CollabLearner, build_collab_learner, collab_learner
from lamina.collab.loaders import CollabDataLoaders, CollabVocab
from lamina.collab.models import EmbeddingDotBias, EmbeddingNN

__all__ = [
    "CollabDataLoaders",
    "CollabLearner",
    "CollabVocab",
    "EmbeddingDotBias",
    "EmbeddingNN",
    "build_collab_learner",
    "collab_learner",
    "load_movielens_100k",
    "movielens_100k_folder",
]


if not TYPE_CHECKING:  # hidden from type checkers, which would otherwise accept any name

    def __getattr__(name: str) -> Any:
        """fastai's names that lamina spells differently: see `lamina.core.fastai_names`."""
        from lamina.core.fastai_names import fastai_name

        return fastai_name(__name__, name)
