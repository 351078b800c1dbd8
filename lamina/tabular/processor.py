"""`TabularProcessor`: the fitted recipe from a DataFrame to tensors `(x_cat, x_cont, y)`, and back.

The target's kind decides the loss (see `infer_y_block`): class indices for "category" (a
cross-entropy), float columns for "regression" (a mean squared error).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from lamina.core.registry import from_entry, to_entry
from lamina.data.vocab import distinct_labels, lookup_values, warn_if_one_class
from lamina.tabular.frame_checks import check_scalar_cells, check_unique_columns
from lamina.tabular.procs import Categorify, FillMissing, Standardize, TabularProc

if TYPE_CHECKING:
    import pandas as pd

Y_BLOCKS = ("category", "regression")
MAX_INT_CLASSES = 100  # integer targets with more distinct values than this are regression
DEFAULT_PROCS = (Categorify, FillMissing, Standardize)


def infer_y_block(df: pd.DataFrame, y_names: Sequence[str]) -> str:
    """The kind of target, and so the loss: "category" or "regression".

    The rule: any float target column, or several target columns, means regression (several
    columns: multi-target regression); an integer target with more than `MAX_INT_CLASSES` (100)
    distinct values is regression; any other single target (strings, booleans, pandas
    categoricals, integers with few values) is a category. Pass `y_block` to override it.
    """
    import pandas as pd

    columns = [df[name] for name in y_names]
    if len(columns) > 1 or pd.api.types.is_float_dtype(columns[0]):
        return "regression"
    column = columns[0]
    if pd.api.types.is_integer_dtype(column) and column.nunique() > MAX_INT_CLASSES:
        return "regression"
    return "category"


def _names(value: Any, argument: str) -> list[str]:
    if value is None:
        return []
    names = [value] if isinstance(value, str) else list(value)
    if not all(isinstance(name, str) for name in names):
        raise ValueError(f"{argument} must be column names (strings), got {value!r}")
    if len(set(names)) != len(names):
        raise ValueError(f"{argument} names a column twice: {names}")
    return names


def _as_proc(proc: Any) -> TabularProc:
    if isinstance(proc, type) and issubclass(proc, TabularProc):
        return proc()
    if isinstance(proc, TabularProc):
        return proc
    name = getattr(proc, "__name__", type(proc).__name__)
    hint = ""
    if name == "Normalize":
        # A port of `procs=[Categorify, FillMissing, Normalize]` that picked up the image
        # transform (e.g. through a star import) must fail loudly, not normalize nothing.
        hint = (" (Normalize is lamina's image batch transform; a table's continuous columns are"
                " standardized by lamina.tabular.Standardize)")  # fmt: skip
    raise ValueError(f"procs must be TabularProc classes or instances, got {proc!r}{hint}")


def check_columns(df: pd.DataFrame, names: Sequence[str]) -> None:
    """Raise a clear error for an empty frame or named columns it lacks."""
    if len(df) == 0:
        raise ValueError("the frame is empty (0 rows): there is nothing to learn from or predict")
    absent = [name for name in names if name not in df.columns]
    if absent:
        raise ValueError(f"columns {absent} are named but absent; the frame has {list(df.columns)}")
    check_unique_columns(df, names)


def _check_numeric(df: pd.DataFrame, names: Sequence[str], role: str) -> None:
    import pandas as pd

    for name in names:
        column = df[name]
        if not (pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)):
            raise ValueError(
                f"{role} column {name!r} has dtype {column.dtype}, not numbers; convert it or "
                "name it as a categorical column"
            )
        n_inf = int(np.isinf(column.to_numpy(dtype="float64", na_value=np.nan)).sum())
        if n_inf:
            raise ValueError(
                f"{role} column {name!r} holds {n_inf} infinite value(s); replace them, e.g. "
                f"df[{name!r}] = df[{name!r}].replace([np.inf, -np.inf], np.nan) so that "
                "FillMissing fills them"
            )


class TabularProcessor:
    """Turns a DataFrame into tensors with procs fitted on the training rows.

    Args:
        cat_names: categorical input columns (embedded by the model).
        cont_names: continuous input columns.
        y_names: target column(s); none for inputs only.
        procs: `TabularProc` classes or instances (default: Categorify, FillMissing, Standardize).
        y_block: "category", "regression" or None to infer it (see `infer_y_block`).

    Example:
        >>> proc = TabularProcessor(["sex"], ["age"], "income").fit(df, train_idx)
        >>> x_cat, x_cont, y = proc.encode(df)
    """

    def __init__(
        self,
        cat_names: Sequence[str] | None,
        cont_names: Sequence[str] | None,
        y_names: str | Sequence[str] | None = None,
        procs: Sequence[Any] | None = DEFAULT_PROCS,
        y_block: str | None = None,
    ) -> None:
        self.cat_names = _names(cat_names, "cat_names")
        self.cont_names = _names(cont_names, "cont_names")
        self.y_names = _names(y_names, "y_names")
        overlap = {*self.cat_names} & {*self.cont_names} | {*self.y_names} & {
            *self.cat_names, *self.cont_names}  # fmt: skip
        if overlap:
            raise ValueError(f"columns {sorted(overlap)} are named in more than one role")
        if not self.cat_names and not self.cont_names:
            raise ValueError("name at least one input column in cat_names or cont_names")
        if y_block is not None and y_block not in Y_BLOCKS:
            raise ValueError(f"y_block must be one of {Y_BLOCKS} or None, got {y_block!r}")
        self.procs = sorted((_as_proc(proc) for proc in procs or ()), key=lambda p: p.order)
        kinds = [type(proc) for proc in self.procs]
        if len(set(kinds)) != len(kinds):
            raise ValueError(f"procs lists a step twice: {[kind.__name__ for kind in kinds]}")
        if self.cat_names and Categorify not in kinds:
            raise ValueError("categorical columns need Categorify in procs")
        self.y_block = y_block
        self.y_vocab: list[Any] = []  # the target's labels, JSON scalars (`distinct_labels`)

    # ----------------------------------------------------------------------------- fitting
    def fit(
        self, df: pd.DataFrame, train_idx: Sequence[int] | np.ndarray | None = None
    ) -> TabularProcessor:
        """Fit the procs on the rows `train_idx` of `df` (default: all rows).

        The target's classes are read from every row, so a class that happens to fall only in
        the validation rows still has an index.
        """
        check_columns(df, [*self.cat_names, *self.cont_names, *self.y_names])
        check_scalar_cells(df, self.cat_names, "categorical")
        self._check_targets(df)
        if self.y_names and self.y_block is None:
            self.y_block = infer_y_block(df, self.y_names)
        if self.y_block == "category":
            if len(self.y_names) > 1:
                raise ValueError(
                    f"y_block='category' takes one target column, got {self.y_names}; "
                    "several columns are multi-target regression"
                )
            self.y_vocab = distinct_labels(df[self.y_names[0]])
        train = df if train_idx is None else df.iloc[np.asarray(train_idx, dtype=np.int64)]
        if self.y_block == "category":
            warn_if_one_class(distinct_labels(train[self.y_names[0]]), len(train))
        check_columns(train, [])
        _check_numeric(train, self.cont_names, "continuous")
        frame = train[[*self.cat_names, *self.cont_names]].copy()
        cat_names = list(self.cat_names)
        for proc in self.procs:
            proc.setup(frame, cat_names, self.cont_names)
            frame = proc(frame, cat_names, self.cont_names)
            cat_names += proc.added_cat_names
        return self

    def _check_targets(self, df: pd.DataFrame) -> None:
        for name in self.y_names:
            missing = df[name].isna().to_numpy().nonzero()[0]
            if len(missing):
                raise ValueError(
                    f"target column {name!r} has {len(missing)} missing value(s) (row positions "
                    f"{missing[:5].tolist()}...); drop those rows first, e.g. "
                    f"df.dropna(subset={[name]!r})"
                )
        if self.y_block != "regression":
            check_scalar_cells(df, self.y_names, "target")
        if self.y_block == "regression":
            _check_numeric(df, self.y_names, "target")

    # ----------------------------------------------------------------------------- encoding
    @property
    def all_cat_names(self) -> list[str]:
        """The categorical columns the model sees: `cat_names` plus missing indicators."""
        added = [name for proc in self.procs for name in proc.added_cat_names]
        return [*self.cat_names, *added]

    @property
    def cardinalities(self) -> list[int]:
        """Vocabulary size (with the unseen slot) of each of `all_cat_names`."""
        categorify = self.proc(Categorify)
        return [len(categorify.vocabs[name]) for name in self.all_cat_names] if categorify else []

    @property
    def n_out(self) -> int:
        """Model outputs: one per class, or one per regression target."""
        return len(self.y_vocab) if self.y_block == "category" else len(self.y_names)

    def proc(self, kind: type[TabularProc]) -> Any:
        """The fitted proc of class `kind`, or None."""
        return next((proc for proc in self.procs if isinstance(proc, kind)), None)

    def encode(self, df: pd.DataFrame, with_y: bool = True) -> tuple[torch.Tensor, ...]:
        """`(x_cat, x_cont, y)` (or `(x_cat, x_cont)`): int64 (n, n_cat), float32 (n, n_cont),
        and int64 (n,) class indices or float32 (n, n_targets)."""
        x_cat, x_cont = self.encode_inputs(df)
        if not with_y or not self.y_names:
            return x_cat, x_cont
        return x_cat, x_cont, self.encode_y(df)

    def encode_inputs(self, df: pd.DataFrame) -> tuple[torch.Tensor, torch.Tensor]:
        """The model inputs for the rows of `df`: `x_cat` int64 (n, n_cat), `x_cont` float32."""
        check_columns(df, [*self.cat_names, *self.cont_names])
        check_scalar_cells(df, self.cat_names, "categorical")
        _check_numeric(df, self.cont_names, "continuous")
        frame = df[[*self.cat_names, *self.cont_names]].copy()
        cat_names = list(self.cat_names)
        for proc in self.procs:
            frame = proc(frame, cat_names, self.cont_names)
            cat_names += proc.added_cat_names
        x_cat = frame[cat_names].to_numpy(dtype=np.int64) if cat_names else None
        x_cont = frame[self.cont_names].to_numpy(dtype=np.float32, na_value=np.nan)
        missing = [
            n for n, bad in zip(self.cont_names, np.isnan(x_cont).any(0), strict=True) if bad
        ]
        if missing:
            raise ValueError(
                f"continuous columns {missing} have missing values; add FillMissing to procs"
            )
        if x_cat is None:
            x_cat = np.zeros((len(frame), 0), dtype=np.int64)
        # np.array copies: pandas may hand out read-only views, which torch warns about.
        x_cont = np.array(x_cont.reshape(len(frame), -1))
        return torch.from_numpy(np.array(x_cat)), torch.from_numpy(x_cont)

    def encode_y(self, df: pd.DataFrame) -> torch.Tensor:
        """Targets: int64 (n,) class indices, or float32 (n, n_targets)."""
        check_columns(df, self.y_names)
        self._check_targets(df)
        if self.y_block == "regression":
            return torch.from_numpy(np.array(df[self.y_names].to_numpy(dtype=np.float32)))
        index = {key: i for i, key in enumerate(self.y_vocab)}
        codes = lookup_values(df[self.y_names[0]]).map(index)
        if codes.isna().any():
            unknown = distinct_labels(df[self.y_names[0]][codes.isna()])[:5]
            raise ValueError(
                f"target {self.y_names[0]!r} has values never seen when fitting: {unknown}; "
                f"known classes: {self.y_vocab}"
            )
        return torch.from_numpy(np.array(codes.to_numpy(dtype=np.int64)))

    def frame_from_row(self, row: Any) -> pd.DataFrame:
        """A one-row frame from a dict or pandas Series; absent input columns count as missing."""
        import pandas as pd

        if isinstance(row, pd.Series):
            row = row.to_dict()
        if not isinstance(row, dict):
            raise ValueError(f"row must be a dict or a pandas Series, got {type(row).__name__}")
        values = {name: row.get(name, np.nan) for name in [*self.cat_names, *self.cont_names]}
        frame = pd.DataFrame([values])
        for name in self.cont_names:
            try:
                frame[name] = pd.to_numeric(frame[name]).astype("float64")
            except (ValueError, TypeError) as error:
                raise ValueError(f"continuous column {name!r}: {error}") from error
        return frame

    # ----------------------------------------------------------------------------- decoding
    def decode_inputs(self, x_cat: torch.Tensor, x_cont: torch.Tensor) -> pd.DataFrame:
        """Readable rows from model inputs: category values and unnormalized numbers."""
        import pandas as pd

        columns: dict[str, Any] = {}
        categorify, normalize = self.proc(Categorify), self.proc(Standardize)
        for j, name in enumerate(self.all_cat_names):
            columns[name] = categorify.decode(name, x_cat[:, j].tolist())
        for j, name in enumerate(self.cont_names):
            values = x_cont[:, j].double().numpy()
            values = normalize.decode(name, values) if normalize else values
            columns[name] = values.astype(np.float32)  # the precision the values were stored at
        return pd.DataFrame(columns)

    def decode_y(self, y: torch.Tensor) -> list:
        """Class labels for class indices, or lists of floats for regression targets."""
        if self.y_block == "category":
            return [self.y_vocab[int(index)] for index in y.reshape(-1)]
        return y.reshape(len(y), -1).tolist()

    # ----------------------------------------------------------------------------- state
    def config(self) -> dict[str, Any]:
        """The fitted recipe as JSON-able data (lamina's state protocol)."""
        return {
            "cat_names": self.cat_names,
            "cont_names": self.cont_names,
            "y_names": self.y_names,
            "y_block": self.y_block,
            "y_vocab": self.y_vocab,
            "procs": [to_entry("tabular_proc", proc) for proc in self.procs],
        }

    @classmethod
    def from_config(cls, state: dict[str, Any]) -> TabularProcessor:
        """Rebuild a fitted processor from `config()`; proc names are looked up, not run."""
        # Files exported before the state protocol name a proc's state "state", not "args".
        procs = [from_entry("tabular_proc", {"name": item.get("name"),
                                             "args": item.get("args", item.get("state"))})
                 for item in state["procs"]]  # fmt: skip
        processor = cls(state["cat_names"], state["cont_names"], state["y_names"], procs,
                        state["y_block"])  # fmt: skip
        processor.y_vocab = list(state["y_vocab"])
        return processor
