"""`TabularDataLoaders`: a DataFrame, preprocessed once, batched straight from whole tensors."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from lamina.core.device import default_device
from lamina.data.loaders import DataLoaders, TargetInfo
from lamina.data.show import TableShowBatch, sampled_rows
from lamina.data.splitters import RandomSplitter
from lamina.tabular.batches import TabularBatches
from lamina.tabular.columns import cont_cat_split
from lamina.tabular.frame_checks import check_unique_columns
from lamina.tabular.processor import DEFAULT_PROCS, TabularProcessor

if TYPE_CHECKING:
    import pandas as pd


def _split(
    df: pd.DataFrame,
    valid_idx: Sequence[int] | None,
    splitter: Callable[[pd.DataFrame], tuple] | None,
    valid_pct: float,
    seed: int | None,
) -> tuple[np.ndarray, np.ndarray]:
    n = len(df)
    if valid_idx is not None and splitter is not None:
        raise ValueError("pass valid_idx or splitter, not both")
    if splitter is not None:
        train_rows, valid_rows = (np.asarray(idx, dtype=np.int64) for idx in splitter(df))
    elif valid_idx is not None:
        valid_rows = np.unique(np.asarray(valid_idx, dtype=np.int64))
        train_rows = np.setdiff1d(np.arange(n), valid_rows)
    else:
        splits = RandomSplitter(valid_pct, seed=seed)(range(n))
        return np.asarray(splits[0], dtype=np.int64), np.asarray(splits[1], dtype=np.int64)
    if len(valid_rows) and (valid_rows.min() < 0 or valid_rows.max() >= n):
        raise ValueError(f"valid_idx must be row positions in [0, {n}), got {valid_rows.tolist()}")
    if len(train_rows) == 0:
        raise ValueError("the split leaves no training rows")
    return train_rows, valid_rows


class TabularDataLoaders(TableShowBatch, DataLoaders):
    """Training and validation batches `(x_cat, x_cont, y)` of a table, and the fitted
    `processor` that turned it into tensors (and turns new rows into them at inference).

    Batches are slices of whole tensors (`TabularBatches`), so an epoch costs no per-row Python
    work. Build one with `from_df` or `from_csv`. The processed table is also there as pandas,
    for scikit-learn: `dls.train.xs`, `dls.train.ys`, `dls.valid.xs`, `dls.valid.ys`.
    """

    def __init__(
        self,
        train: Any,
        valid: Any,
        processor: TabularProcessor,
        device: torch.device | str | None = None,
    ) -> None:
        category = processor.y_block == "category"
        target = TargetInfo(
            loss_name="cross_entropy_flat" if category else "mse_flat",
            activation="softmax" if category else None,
            c=processor.n_out if processor.y_names else None,
            vocab=list(processor.y_vocab) if category else None,
        )
        super().__init__(train, valid, device=device, n_inp=2, target=target)
        self.processor = processor

    @classmethod
    def from_df(
        cls,
        df: pd.DataFrame,
        y_names: str | Sequence[str],
        cat_names: Sequence[str] | None = None,
        cont_names: Sequence[str] | None = None,
        procs: Sequence[Any] | None = DEFAULT_PROCS,
        valid_idx: Sequence[int] | None = None,
        splitter: Callable[[pd.DataFrame], tuple] | None = None,
        valid_pct: float = 0.2,
        seed: int | None = None,
        bs: int = 64,
        y_block: str | None = None,
        device: torch.device | str | None = None,
    ) -> TabularDataLoaders:
        """Preprocess `df` (procs fitted on the training rows only) and batch it.

        Args:
            y_names: the target column(s); the target's kind picks the loss (`infer_y_block`).
            cat_names, cont_names: input columns; when both are None, `cont_cat_split` picks
                them from every other column.
            valid_idx: row positions for validation; or `splitter(df) -> (train_idx,
                valid_idx)`; else a random `valid_pct` of the rows (seeded by `seed`).
            y_block: "category" or "regression" to override the inferred kind.

        Example:
            >>> dls = TabularDataLoaders.from_df(df, y_names="income", cat_names=["sex"],
            ...     cont_names=["age"], procs=[Categorify, FillMissing, Standardize])
            >>> learn = tabular_learner(dls, metrics="accuracy")
            >>> learn.fit_one_cycle(3, 1e-2)
        """
        if not isinstance(bs, int) or bs < 1:
            raise ValueError(f"bs must be a positive integer, got {bs!r}")
        if y_names is None or (not isinstance(y_names, str) and not list(y_names)):
            raise ValueError(f"y_names must name the target column(s), got {y_names!r}")
        if len(df) == 0:
            raise ValueError("the frame is empty (0 rows): there is nothing to learn from")
        if cat_names is None and cont_names is None:
            check_unique_columns(df)  # every column is about to be used
            cont_names, cat_names = cont_cat_split(df, dep_var=y_names)
        train_rows, valid_rows = _split(df, valid_idx, splitter, valid_pct, seed)
        processor = TabularProcessor(cat_names, cont_names, y_names, procs, y_block)
        processor.fit(df, train_rows)
        tensors = processor.encode(df)
        device = torch.device(device) if device is not None else default_device()
        train_index, valid_index = torch.from_numpy(train_rows), torch.from_numpy(valid_rows)
        train = TabularBatches(*(t[train_index] for t in tensors), processor=processor,
                               index=df.index[train_rows], bs=bs, shuffle=True, seed=seed,
                               drop_last=len(train_index) > bs, device=device)  # fmt: skip
        # Dropping the last partial training batch keeps BatchNorm away from a batch of one row.
        valid = None
        if len(valid_index):
            valid = TabularBatches(*(t[valid_index] for t in tensors), processor=processor,
                                   index=df.index[valid_rows], bs=bs * 2,
                                   device=device)  # fmt: skip
        return cls(train, valid, processor, device)

    @classmethod
    def from_csv(
        cls, path: str | Path, y_names: str | Sequence[str], **kwargs: Any
    ) -> TabularDataLoaders:
        """`from_df` on `pandas.read_csv(path)`; `kwargs` go to `from_df`."""
        import pandas as pd

        return cls.from_df(pd.read_csv(path), y_names, **kwargs)

    @property
    def bs(self) -> int:
        """The training batch size."""
        return getattr(self.train, "bs", 64)

    def test_dl(
        self, items: pd.DataFrame, with_labels: bool | None = None, bs: int | None = None
    ) -> TabularBatches:
        """Batches of new rows, preprocessed with the fitted procs (for `learn.get_preds`, or
        as pandas through `.xs` and `.ys` for another model).

        `with_labels` (default: when the frame has the target columns) adds the encoded targets.
        """
        processor = self.processor
        if with_labels is None:
            with_labels = bool(processor.y_names) and all(
                n in items.columns for n in processor.y_names
            )
        tensors = processor.encode(items, with_y=with_labels)
        return TabularBatches(*tensors, processor=processor, index=items.index,
                              bs=bs or self.bs * 2, device=self.device)  # fmt: skip

    def batch_frame(
        self, max_n: int = 10, ds_idx: int = 0, shuffle: bool = False, seed: int = 0
    ) -> pd.DataFrame:
        """Decoded rows of one batch (categories as values, numbers unnormalized), as a frame;
        with `shuffle`, `max_n` rows drawn across the whole set with `seed` instead."""
        x_cat, x_cont, *y = [t.cpu() for t in sampled_rows(self, max_n, ds_idx, shuffle, seed)]
        x_cat, x_cont = x_cat[:max_n], x_cont[:max_n]
        frame = self.processor.decode_inputs(x_cat, x_cont)
        if y:
            frame = _with_targets(frame, self.processor, y[0][:max_n])
        return frame

    def export_config(self) -> dict[str, Any]:
        """The fitted preprocessing as JSON (lamina's state protocol)."""
        return self.processor.config()


def _with_targets(frame: pd.DataFrame, processor: TabularProcessor, y: torch.Tensor) -> Any:
    decoded = processor.decode_y(y)
    if processor.y_block == "category":
        frame[processor.y_names[0]] = decoded
    else:
        for j, name in enumerate(processor.y_names):
            frame[name] = [row[j] for row in decoded]
    return frame
