"""`Vocab`: the sorted, stable list of labels a categorical value is encoded against.

One ordering serves every application (`label_sort_key`): numbers first, ascending (bools as 0
and 1), then strings in code-point order. The same labels therefore give the same vocabulary
whatever order they were seen in, and the same indices in every application.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

_JSON_SCALARS = (str, int, float, bool)


def label_sort_key(label: Any) -> tuple[int, float, str]:
    """The vocabulary order: numbers ascending, then strings, then anything else by repr."""
    if isinstance(label, (bool, int, float)):
        return (0, label, "")
    if isinstance(label, str):
        return (1, 0, label)
    return (2, 0, repr(label))


def json_scalar(value: Any) -> Any:
    """`value` as a JSON-native scalar; integral floats become ints so that 3.0 and 3 agree."""
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()  # NumPy scalars
    if isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    return str(value)


def warn_if_one_class(labels: Collection[Any], n_items: int, what: str = "training") -> None:
    """Warn when the distinct `labels` of a classification target's `n_items` training items
    are a single class: a model then learns to answer it always, and its loss falls to 0."""
    if len(labels) != 1:
        return
    import warnings

    (label,) = labels
    warnings.warn(
        f"the {what} targets hold a single class, {label!r} (all {n_items} items): a "
        "classifier learns to answer it whatever the input, with a loss falling to 0; check "
        "the labelling (label function, column) and the split",
        UserWarning,
        stacklevel=3,
    )


def lookup_values(values: Any) -> Any:
    """`values` as a pandas Series whose elements hash like the JSON keys of a vocabulary
    (categoricals as objects, datetimes as their text)."""
    import pandas as pd

    series = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    if isinstance(series.dtype, pd.CategoricalDtype):
        return series.astype(object)
    if pd.api.types.is_datetime64_any_dtype(series):
        return series.astype(str).where(series.notna())
    return series


def distinct_labels(values: Any) -> list[Any]:
    """The distinct non-missing `values` as JSON scalars, in vocabulary order."""
    series = lookup_values(values)
    keys = {json_scalar(value) for value in series.dropna().unique()}
    return sorted(keys, key=label_sort_key)


def _plain(label: Any) -> Any:
    """NumPy scalars (e.g. from a pandas Series) as plain Python values."""
    if hasattr(label, "item") and getattr(label, "ndim", None) == 0:
        return label.item()
    return label


class Vocab:
    """An ordered list of distinct labels and the index of each.

    `from_labels` sorts in the shared vocabulary order (`label_sort_key`: numbers ascending,
    then strings), so the same labels always give the same vocab whatever order they came in.
    Labels must be JSON scalars (str, int, float or bool) so the vocab is stored as JSON with
    anything exported.

    Example:
        >>> vocab = Vocab.from_labels(["dog", "cat", "dog"])
        >>> list(vocab), vocab.index("dog")
        (['cat', 'dog'], 1)
    """

    def __init__(self, labels: Iterable[Any], sort: bool = False) -> None:
        labels = [_plain(label) for label in labels]
        for label in labels:
            if not isinstance(label, _JSON_SCALARS):
                raise ValueError(
                    f"vocab labels must be str, int, float or bool, got {label!r} "
                    f"({type(label).__name__})"
                )
        if len(set(labels)) != len(labels):
            counts = Counter(labels)
            duplicates = sorted((x for x, n in counts.items() if n > 1), key=label_sort_key)
            raise ValueError(f"vocab labels must be distinct; repeated: {duplicates}")
        self.items: list[Any] = sorted(labels, key=label_sort_key) if sort else labels
        self.o2i: dict[Any, int] = {label: index for index, label in enumerate(self.items)}

    @classmethod
    def from_labels(cls, labels: Iterable[Any]) -> Vocab:
        """The sorted distinct values of `labels`."""
        return cls(set(labels), sort=True)

    @classmethod
    def from_values(cls, values: Any) -> Vocab:
        """The distinct non-missing `values` (any iterable, a pandas Series is fastest) as JSON
        scalars, sorted."""
        return cls(distinct_labels(values))

    def indices(self, values: Any, unknown: int = -1) -> np.ndarray:
        """int64 positions of many `values` at once; `unknown` where a value is absent."""
        import numpy as np

        codes = lookup_values(values).map(self.o2i)
        return np.array(codes.fillna(unknown).to_numpy(dtype=np.int64))  # a writable copy

    def index(self, label: Any) -> int:
        """Position of `label`; a `KeyError` naming it (and a few known labels) if absent."""
        try:
            return self.o2i[label]
        except KeyError:
            known = ", ".join(repr(x) for x in self.items[:10])
            more = ", ..." if len(self.items) > 10 else ""
            raise KeyError(f"label {label!r} is not in the vocab [{known}{more}]") from None

    def __contains__(self, label: Any) -> bool:
        return label in self.o2i

    def __getitem__(self, index: int | slice) -> Any:
        return self.items[index]

    def __iter__(self) -> Iterator[Any]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Vocab):
            return self.items == other.items
        if isinstance(other, (list, tuple)):
            return self.items == list(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self.items))

    def __repr__(self) -> str:
        return f"Vocab({self.items!r})"

    def to_list(self) -> list[Any]:
        """The labels as a JSON-able list."""
        return list(self.items)


def as_vocab(vocab: Vocab | Iterable[Any] | None) -> Vocab | None:
    """`vocab` as a `Vocab`, keeping the given order (None stays None)."""
    if vocab is None or isinstance(vocab, Vocab):
        return vocab
    if isinstance(vocab, (str, bytes)):
        raise ValueError(f"vocab must be a list of labels, got the string {vocab!r}")
    return Vocab(vocab)


def loaders_vocab(type_tfms: Iterable[Iterable[Any]], target_vocab: Any) -> Any:
    """What `dls.vocab` shows users: the vocabulary of each batch element that has one, in
    element order, or that one alone when only one element has any.

    So a classifier whose input has no vocabulary shows its labels, while one whose input has
    a vocabulary too shows `[input vocabulary, labels]`, fastai's convention (a ported
    `dls.vocab[1]` means the labels there too). `target_vocab` stands in when no element has
    one. Code that needs the labels alone reads `target_labels(dls)`.
    """
    vocabs = []
    for tfms in type_tfms:
        for tfm in tfms:
            vocab = getattr(tfm, "vocab", None)
            if vocab is not None:
                vocabs.append(vocab.to_list() if isinstance(vocab, Vocab) else list(vocab))
                break
    if len(vocabs) == 1:
        return vocabs[0]
    return vocabs or target_vocab
