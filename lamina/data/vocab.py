"""`Vocab`: the sorted, stable list of labels a categorical target is encoded against."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

_JSON_SCALARS = (str, int, float, bool)


def _sort_key(label: Any) -> tuple[str, Any]:
    # Group by type name first so mixed labels (rare, but e.g. 1 and "1") still sort stably.
    return (type(label).__name__, label)


def _plain(label: Any) -> Any:
    """NumPy scalars (e.g. from a DataFrame column) as plain Python values."""
    if hasattr(label, "item") and getattr(label, "ndim", None) == 0:
        return label.item()
    return label


class Vocab:
    """An ordered list of distinct labels and the index of each.

    The order is sorted (numbers numerically, strings alphabetically), so the same labels always
    give the same vocab whatever order they were seen in. Labels must be JSON scalars (str, int,
    float or bool) so the vocab is stored as JSON with anything exported.

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
            seen: set[Any] = set()
            duplicates = sorted({x for x in labels if x in seen or seen.add(x)}, key=_sort_key)
            raise ValueError(f"vocab labels must be distinct; repeated: {duplicates}")
        self.items: list[Any] = sorted(labels, key=_sort_key) if sort else labels
        self.o2i: dict[Any, int] = {label: index for index, label in enumerate(self.items)}

    @classmethod
    def from_labels(cls, labels: Iterable[Any]) -> Vocab:
        """The sorted distinct values of `labels`."""
        return cls(set(labels), sort=True)

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

    def __getitem__(self, index: int) -> Any:
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
