"""`TabularBlock`: the DataBlock way of stating a table's recipe, built at tensor speed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import torch

from lamina.core.reports import TextReport, show_report
from lamina.data.blocks import CategoryBlock, RegressionBlock
from lamina.data.splitters import RandomSplitter
from lamina.tabular.loaders import TabularDataLoaders
from lamina.tabular.processor import DEFAULT_PROCS, TabularProcessor, check_columns

if TYPE_CHECKING:
    import pandas as pd


def _y_block_name(y_block: Any) -> str | None:
    """ "category"/"regression" from a name, or a lamina.data `CategoryBlock`/`RegressionBlock`."""
    if y_block is None or isinstance(y_block, str):
        return y_block
    kind = y_block if isinstance(y_block, type) else type(y_block)
    if issubclass(kind, CategoryBlock):
        return "category"
    if issubclass(kind, RegressionBlock):
        return "regression"
    raise ValueError(
        f"y_block must be 'category', 'regression', CategoryBlock or RegressionBlock, "
        f"got {y_block!r}"
    )


class TabularBlock:
    """A table's recipe stated up front, like a `DataBlock`: columns, procs, target kind and a
    splitter (any of `lamina.data.splitters`, called on the rows as dicts).

    Unlike an item-wise DataBlock, the whole frame is preprocessed once and batched from whole
    tensors, so training runs at tensor speed.

    Example:
        >>> block = TabularBlock(cat_names=["sex"], cont_names=["age"], y_names="income",
        ...                      y_block=CategoryBlock, splitter=ColSplitter("is_valid"))
        >>> block.summary(df)
        >>> dls = block.dataloaders(df, bs=256)
    """

    def __init__(
        self,
        cat_names: Sequence[str] | None,
        cont_names: Sequence[str] | None,
        y_names: str | Sequence[str],
        procs: Sequence[Any] | None = DEFAULT_PROCS,
        y_block: Any = None,
        splitter: Callable[[Sequence[Any]], tuple] | None = None,
    ) -> None:
        if splitter is not None and not callable(splitter):
            raise ValueError(f"splitter must be callable or None, got {splitter!r}")
        self.y_block = _y_block_name(y_block)
        # Built once here so that bad column lists or procs fail at construction.
        TabularProcessor(cat_names, cont_names, y_names, procs, self.y_block)
        self.cat_names, self.cont_names, self.y_names = cat_names, cont_names, y_names
        self.procs = procs
        self.splitter = splitter if splitter is not None else RandomSplitter(0.2)

    def processor(self) -> TabularProcessor:
        """A fresh, unfitted processor for this recipe."""
        return TabularProcessor(self.cat_names, self.cont_names, self.y_names,
                                self.procs, self.y_block)  # fmt: skip

    def split(self, df: pd.DataFrame) -> tuple[list[int], list[int]]:
        """Row positions `(train_idx, valid_idx)` from the splitter."""
        check_columns(df, [])
        train_idx, valid_idx = self.splitter(df.to_dict("records"))
        return list(train_idx), list(valid_idx)

    def dataloaders(
        self,
        df: pd.DataFrame,
        bs: int = 64,
        seed: int | None = None,
        device: torch.device | str | None = None,
    ) -> TabularDataLoaders:
        """Fit the procs on the training rows and batch the whole frame."""
        train_idx, valid_idx = self.split(df)
        return TabularDataLoaders.from_df(
            df, self.y_names, self.cat_names, self.cont_names, self.procs,
            splitter=lambda _: (train_idx, valid_idx), bs=bs, seed=seed, y_block=self.y_block,
            device=device,
        )  # fmt: skip

    def summary(self, df: pd.DataFrame, show: bool = True) -> TextReport:
        """Walk the first training row through each fitted proc; returns the text (a str whose
        repr is the text). With `show` it is printed in a script, and in a notebook shown once."""
        train_idx, _ = self.split(df)
        processor = self.processor().fit(df, train_idx)
        frame = df.iloc[train_idx[:1]][[*processor.cat_names, *processor.cont_names]].copy()
        lines = [f"{len(train_idx)} training rows; raw row: {frame.iloc[0].to_dict()}"]
        cat_names = list(processor.cat_names)
        for proc in processor.procs:
            frame = proc(frame, cat_names, processor.cont_names)
            cat_names += proc.added_cat_names
            lines.append(f"after {type(proc).__name__}: {frame.iloc[0].to_dict()}")
        x_cat, x_cont = processor.encode_inputs(df.iloc[train_idx[:1]])
        lines.append(f"x_cat {tuple(x_cat.shape)} {x_cat.tolist()}, "
                     f"x_cont {tuple(x_cont.shape)} {x_cont.tolist()}")  # fmt: skip
        loss = "cross-entropy" if processor.y_block == "category" else "mean squared error"
        lines.append(f"target {processor.y_names} as {processor.y_block}; loss {loss}")
        text = "\n".join(lines)
        return show_report(text) if show else TextReport(text)
