"""`TabularBatches`: a table's batches that also show their processed rows as pandas frames.

The tensors a tabular model trains on (category codes, standardized numbers, encoded targets)
are exactly what a gradient-boosting model or any scikit-learn estimator wants too, so the
loaders hand them out as a DataFrame (`xs`) and a Series (`ys`) indexed by the original rows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from lamina.data.tensor_batches import TensorBatches

if TYPE_CHECKING:
    import pandas as pd

    from lamina.tabular.processor import TabularProcessor


class TabularBatches(TensorBatches):
    """Batches `(x_cat, x_cont[, y])` sliced from whole tensors, plus the processed table as
    pandas: `xs` (the model's inputs) and `ys` (its targets), one row per row of the table.

    Args:
        tensors: `x_cat` int64 (n, n_cat), `x_cont` float32 (n, n_cont) and optionally `y`.
        processor: the fitted `TabularProcessor` that made them (it names the columns).
        index: the original row labels of the n rows (default: 0..n-1).
        settings: `TensorBatches` settings (`bs`, `shuffle`, `drop_last`, `device`, `seed`).

    Example:
        >>> from sklearn.ensemble import HistGradientBoostingClassifier
        >>> gbm = HistGradientBoostingClassifier().fit(dls.train.xs, dls.train.ys)
        >>> gbm.score(dls.valid.xs, dls.valid.ys)
    """

    def __init__(
        self,
        *tensors: torch.Tensor,
        processor: TabularProcessor,
        index: Any = None,
        **settings: Any,
    ) -> None:
        super().__init__(*tensors, **settings)
        if len(tensors) < 2:
            raise ValueError(
                f"TabularBatches needs (x_cat, x_cont[, y]), got {len(tensors)} tensor(s)"
            )
        n_cat, n_cont = len(processor.all_cat_names), len(processor.cont_names)
        shapes = (tuple(tensors[0].shape[1:]), tuple(tensors[1].shape[1:]))
        if shapes != ((n_cat,), (n_cont,)):
            raise ValueError(
                f"x_cat and x_cont have per-row shapes {shapes}, but the processor names "
                f"{n_cat} categorical and {n_cont} continuous columns"
            )
        if index is not None and len(index) != self.n:
            raise ValueError(f"index has {len(index)} labels for {self.n} rows")
        self.processor, self.index = processor, index

    def new(self, **changes: Any) -> TabularBatches:
        """A copy with some settings changed (e.g. `shuffle=False` for prediction)."""
        settings: dict[str, Any] = {
            "bs": self.bs,
            "shuffle": self.shuffle,
            "drop_last": self.drop_last,
            "device": self.device,
        }
        settings.update(changes)
        return TabularBatches(*self.tensors, processor=self.processor, index=self.index,
                              **settings)  # fmt: skip

    @property
    def feature_names(self) -> list[str]:
        """The model's input columns in its order: categorical (with missing indicators) first,
        then continuous."""
        return [*self.processor.all_cat_names, *self.processor.cont_names]

    @property
    def xs(self) -> pd.DataFrame:
        """The model's inputs as a DataFrame, in table order (not the shuffled batch order):
        category codes (int64; 0 is missing or unseen) then standardized numbers (float32),
        the columns named as `feature_names`, indexed by the original row labels."""
        import pandas as pd

        x_cat, x_cont = (t.cpu().numpy() for t in self.tensors[:2])
        columns: dict[str, Any] = {}
        for j, name in enumerate(self.processor.all_cat_names):
            columns[name] = x_cat[:, j]
        for j, name in enumerate(self.processor.cont_names):
            columns[name] = x_cont[:, j]
        return pd.DataFrame(columns, index=self._index())

    @property
    def ys(self) -> pd.Series | pd.DataFrame:
        """The encoded targets: a Series of class indices (int64, labels in `dls.vocab`) or of
        numbers for one regression target; a DataFrame for several targets. Indexed as `xs`."""
        import pandas as pd

        if len(self.tensors) < 3:
            raise ValueError(
                "these batches hold no targets (test rows without the target column); "
                "build them with the target column present, e.g. dls.test_dl(df, with_labels=True)"
            )
        y = self.tensors[2].cpu().numpy()
        names = self.processor.y_names
        if y.ndim == 2 and len(names) > 1:
            return pd.DataFrame(y, columns=names, index=self._index())
        return pd.Series(y.reshape(len(y)), name=names[0], index=self._index())

    def _index(self) -> Any:
        import pandas as pd

        return pd.RangeIndex(self.n) if self.index is None else self.index
