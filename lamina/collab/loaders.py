"""`CollabDataLoaders`: (user, item, rating) rows as index pairs, batched from whole tensors."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from lamina.core.device import default_device
from lamina.data.loaders import DataLoaders, TargetInfo
from lamina.data.show import TableShowBatch, sampled_rows
from lamina.data.splitters import RandomSplitter
from lamina.data.tensor_batches import TensorBatches
from lamina.data.vocab import Vocab, json_scalar, lookup_values

if TYPE_CHECKING:
    import pandas as pd

DUPLICATES = ("mean", "last", "error")


class CollabVocab:
    """The users and items a model knows: two `Vocab`s of JSON scalars, in vocabulary order."""

    def __init__(self, users: Sequence[Any] | Vocab, items: Sequence[Any] | Vocab) -> None:
        self.users = users if isinstance(users, Vocab) else Vocab(users)
        self.items = items if isinstance(items, Vocab) else Vocab(items)

    def encode(self, kind: str, values: Sequence[Any]) -> torch.Tensor:
        """Indices of `values` ("user" or "item"); a clear error for ones never seen."""
        vocab = self.users if kind == "user" else self.items
        codes = vocab.indices(values)
        if (codes < 0).any():
            series = lookup_values(values)
            unknown = [json_scalar(value) for value in series[codes < 0].head(5)]
            raise ValueError(
                f"unknown {kind}(s) {unknown}: the model only knows the {len(vocab)} "
                f"{kind}s of its training data (see learn.dls.vocab.{kind}s)"
            )
        return torch.from_numpy(codes)

    def config(self) -> dict[str, list]:
        """The vocabularies as JSON-able lists (`CollabVocab(**config)` rebuilds it)."""
        return {"users": self.users.to_list(), "items": self.items.to_list()}


def _column_names(ratings: pd.DataFrame, names: list[str | None]) -> list[str]:
    if len(ratings.columns) < 3 and None in names:
        raise ValueError(
            f"ratings needs user, item and rating columns; it has {list(ratings.columns)}"
        )
    chosen = [name if name is not None else ratings.columns[i] for i, name in enumerate(names)]
    absent = [name for name in chosen if name not in ratings.columns]
    if absent:
        raise ValueError(f"columns {absent} are named but absent; ratings has "
                         f"{list(ratings.columns)}")  # fmt: skip
    if len(set(chosen)) != 3:
        raise ValueError(f"user, item and rating must be three different columns, got {chosen}")
    return chosen


def clean_ratings(
    ratings: pd.DataFrame, user: str, item: str, rating: str, duplicates: str
) -> pd.DataFrame:
    """The three columns, checked: no missing values, finite numeric ratings, duplicate pairs
    merged by `duplicates` ("mean": their average; "last": the last row; "error": refuse)."""
    import pandas as pd

    frame = ratings[[user, item, rating]]
    missing = {name: int(n) for name, n in frame.isna().sum().items() if n}
    if missing:
        raise ValueError(f"ratings has missing values {missing}; drop those rows first")
    if not pd.api.types.is_numeric_dtype(frame[rating]) or pd.api.types.is_bool_dtype(
        frame[rating]
    ):
        raise ValueError(f"rating column {rating!r} must hold numbers, got {frame[rating].dtype}")
    if not np.isfinite(frame[rating].to_numpy(dtype="float64")).all():
        raise ValueError(f"rating column {rating!r} holds infinite values")
    keys = [lookup_values(frame[user]), lookup_values(frame[item])]
    frame = pd.DataFrame({user: keys[0], item: keys[1], rating: frame[rating].astype("float64")})
    duplicated = frame.duplicated([user, item], keep=False)
    if not duplicated.any():
        return frame.reset_index(drop=True)
    if duplicates == "error":
        pairs = frame.loc[duplicated, [user, item]].head(3).values.tolist()
        raise ValueError(
            f"{int(duplicated.sum())} rows repeat a (user, item) pair, e.g. {pairs}; pass "
            "duplicates='mean' or 'last' to merge them"
        )
    if duplicates == "last":
        return frame.drop_duplicates([user, item], keep="last").reset_index(drop=True)
    return frame.groupby([user, item], sort=False, as_index=False)[rating].mean()


class CollabDataLoaders(TableShowBatch, DataLoaders):
    """Batches `(x, rating)`: `x` int64 (B, 2) of (user index, item index), rating float (B,).

    Keeps the `vocab` of users and items, the column names, every rated pair (for
    recommendations that skip what a user has rated) and the `rating_range` (lowest,
    highest). Build one with `from_df` or `from_csv`.
    """

    def __init__(
        self,
        train: Any,
        valid: Any,
        vocab: CollabVocab,
        names: Sequence[str],
        rated: torch.Tensor | None = None,
        device: torch.device | str | None = None,
        rating_range: tuple[float, float] | None = None,
    ) -> None:
        # Ratings are fitted with the mean squared error; the model gives one number per pair.
        target = TargetInfo(loss_name="mse_flat", c=1, vocab=vocab)
        super().__init__(train, valid, device=device, n_inp=1, target=target)
        self.vocab: CollabVocab = vocab
        self.names = list(names)
        self.rated = rated  # int64 (n, 2): every (user, item) pair in the data
        # The lowest and highest rating (None: unknown), from which collab_learner's y_range.
        self.rating_range = rating_range

    @classmethod
    def from_df(
        cls,
        ratings: pd.DataFrame,
        user_name: str | None = None,
        item_name: str | None = None,
        rating_name: str | None = None,
        valid_pct: float = 0.2,
        seed: int | None = None,
        bs: int = 64,
        duplicates: str = "mean",
        device: torch.device | str | None = None,
    ) -> CollabDataLoaders:
        """Index the users and items of `ratings` and split its rows at random.

        Args:
            user_name, item_name, rating_name: columns (default: the first three columns).
            valid_pct: share of rows for validation (seeded by `seed`).
            duplicates: what to do with rows repeating a (user, item) pair, merged *before*
                the split so no pair lands in both sets: "mean" averages their ratings, "last"
                keeps the last row, "error" raises.

        Example:
            >>> dls = CollabDataLoaders.from_df(ratings, valid_pct=0.2, seed=42, bs=64)
            >>> learn = collab_learner(dls, n_factors=50, y_range=(0, 5.5))
            >>> learn.fit_one_cycle(5, 5e-3, wd=0.1)
        """
        if duplicates not in DUPLICATES:
            raise ValueError(f"duplicates must be one of {DUPLICATES}, got {duplicates!r}")
        if not isinstance(bs, int) or bs < 1:
            raise ValueError(f"bs must be a positive integer, got {bs!r}")
        if len(ratings) == 0:
            raise ValueError("ratings is empty (0 rows): there is nothing to learn from")
        names = _column_names(ratings, [user_name, item_name, rating_name])
        frame = clean_ratings(ratings, names[0], names[1], names[2], duplicates)
        vocab = CollabVocab(Vocab.from_values(frame[names[0]]), Vocab.from_values(frame[names[1]]))
        x = torch.stack([vocab.encode("user", frame[names[0]]),
                         vocab.encode("item", frame[names[1]])], dim=1)  # fmt: skip
        y = torch.from_numpy(np.array(frame[names[2]].to_numpy(dtype=np.float32)))
        splits = RandomSplitter(valid_pct, seed=seed)(range(len(y)))
        train_idx, valid_idx = (torch.tensor(i, dtype=torch.int64) for i in splits)
        device = torch.device(device) if device is not None else default_device()
        train = TensorBatches(x[train_idx], y[train_idx], bs=bs, shuffle=True, seed=seed,
                              drop_last=len(train_idx) > bs, device=device)  # fmt: skip
        valid = TensorBatches(x[valid_idx], y[valid_idx], bs=bs * 2, device=device)
        # Every rating, validation too: a range set by the training ratings alone could still
        # cap a validation rating and skew the metric.
        rating_range = (float(y.min()), float(y.max()))
        return cls(train, valid, vocab, names, rated=x, device=device, rating_range=rating_range)

    @classmethod
    def from_csv(cls, path: str | Path, sep: str = ",", **kwargs: Any) -> CollabDataLoaders:
        """`from_df` on `pandas.read_csv(path, sep=sep)`; `kwargs` go to `from_df`."""
        import pandas as pd

        return cls.from_df(pd.read_csv(path, sep=sep), **kwargs)

    def test_dl(
        self, items: pd.DataFrame, with_labels: bool | None = None, bs: int | None = None
    ) -> TensorBatches:
        """Batches of new (user, item) rows of a frame with the training column names; ratings
        are added when `with_labels` (default: when the frame has the rating column)."""
        user, item, rating = self.names
        if with_labels is None:
            with_labels = rating in items.columns
        x = torch.stack([self.vocab.encode("user", items[user]),
                         self.vocab.encode("item", items[item])], dim=1)  # fmt: skip
        tensors = [x]
        if with_labels:
            tensors.append(torch.from_numpy(items[rating].to_numpy(dtype=np.float32).copy()))
        return TensorBatches(*tensors, bs=bs or 1024, device=self.device)

    def export_config(self) -> dict[str, Any]:
        """The users, items and column names, as JSON."""
        return {"vocab": self.vocab.config(), "names": self.names}

    def batch_frame(
        self, max_n: int = 10, ds_idx: int = 0, shuffle: bool = False, seed: int = 0
    ) -> pd.DataFrame:
        """Decoded rows of one batch (user, item, rating), as a frame; with `shuffle`, `max_n`
        rows drawn across the whole set with `seed` instead."""
        import pandas as pd

        x, y = (t.cpu() for t in sampled_rows(self, max_n, ds_idx, shuffle, seed))
        x, y = x[:max_n], y[:max_n]
        return pd.DataFrame({
            self.names[0]: [self.vocab.users[i] for i in x[:, 0].tolist()],
            self.names[1]: [self.vocab.items[i] for i in x[:, 1].tolist()],
            self.names[2]: y.tolist(),
        })  # fmt: skip
