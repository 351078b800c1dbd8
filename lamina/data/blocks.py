"""Blocks: what each element of a sample is, how to build it, batch it, show it, and learn it.

A block names the element's *kind*, the *type transforms* that turn a raw value (a path, a
label, a document) into the element (a tensor, an index), the item and batch transforms it needs by
default, how its elements are collated into a batch, and, for targets, the loss, activation and
metrics that suit it. The data layer sits below the losses and metrics, so a block only *names*
them; the training layer looks them up.

Type transforms are `Transform`s applied to one element at a time. Those of a *lazy* block (files
read on demand) run when an item is read, in the worker; the others (labels) run once, when the
data set is built, so a bad label is reported before training starts.

An application adds its own blocks by subclassing `TransformBlock` and overriding the hooks it
needs (`type_tfms_for`, `arrange_tfms`, `collate`, `dataloader`, `show`); nothing in this package
knows about any application's data.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import torch

from lamina.core.registry import register
from lamina.data.transform import Kinds, Transform
from lamina.data.vocab import Vocab, as_vocab, warn_if_one_class

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from lamina.data.item_dataset import ItemDataset
    from lamina.data.loaders import TargetInfo


# ----------------------------------------------------------------------------- type transforms
@register("transform")
class Categorize(Transform):
    """Label -> int64 index into a vocab fitted on the training labels (sorted, stable)."""

    def __init__(self, vocab: Sequence[Any] | Vocab | None = None) -> None:
        self.vocab = as_vocab(vocab)

    def setup(self, labels: Sequence[Any]) -> None:
        """Fit the vocab on the training labels, unless one was given; warn when they hold a
        single class."""
        distinct = set(labels)
        if self.vocab is None:
            self.vocab = Vocab(distinct, sort=True)
        warn_if_one_class(distinct, len(labels))

    def _fitted(self) -> Vocab:
        if self.vocab is None:
            raise ValueError("Categorize has no vocab: call setup(labels) or pass vocab=")
        return self.vocab

    def encode(self, x: Any, kind: str) -> torch.Tensor:
        return torch.tensor(self._fitted().index(x), dtype=torch.int64)

    def decode(self, x: Any, kind: str) -> Any:
        vocab = self._fitted()
        if isinstance(x, torch.Tensor) and x.ndim > 0:
            return [vocab[int(i)] for i in x.tolist()]
        return vocab[int(x)]

    def config(self) -> dict[str, Any]:
        return {"vocab": None if self.vocab is None else self.vocab.to_list()}


@register("transform")
class MultiCategorize(Transform):
    """A list of labels -> float multi-hot tensor (n_classes,); `encoded`: already multi-hot."""

    def __init__(self, vocab: Sequence[Any] | Vocab | None = None, encoded: bool = False) -> None:
        if encoded and vocab is None:
            raise ValueError("encoded=True needs vocab= (the name of each column of the targets)")
        self.vocab, self.encoded = as_vocab(vocab), encoded

    def _fitted(self) -> Vocab:
        if self.vocab is None:
            raise ValueError("MultiCategorize has no vocab: call setup(labels) or pass vocab=")
        return self.vocab

    def setup(self, labels: Sequence[Any]) -> None:
        """Fit the vocab on the union of the training label lists, unless one was given."""
        if self.vocab is None:
            self.vocab = Vocab.from_labels(label for item in labels for label in _as_list(item))

    def encode(self, x: Any, kind: str) -> torch.Tensor:
        vocab = self._fitted()
        if self.encoded:
            hot = torch.as_tensor(x, dtype=torch.float32).flatten()
            if hot.numel() != len(vocab):
                raise ValueError(f"expected {len(vocab)} multi-hot values, got {hot.numel()}")
            return hot
        hot = torch.zeros(len(vocab), dtype=torch.float32)
        for label in _as_list(x):
            hot[vocab.index(label)] = 1.0
        return hot

    def decode(self, x: Any, kind: str) -> Any:
        if isinstance(x, torch.Tensor) and x.ndim > 1:
            return [self.decode(row, kind) for row in x]
        vocab = self._fitted()
        return [vocab[int(i)] for i in torch.nonzero(torch.as_tensor(x) > 0.5).flatten()]

    def config(self) -> dict[str, Any]:
        vocab = None if self.vocab is None else self.vocab.to_list()
        return {"vocab": vocab, "encoded": self.encoded}


def _as_list(labels: Any) -> list[Any]:
    if labels is None:
        return []
    if isinstance(labels, str):
        return [labels]
    return list(labels)


@register("transform")
class ToFloatTarget(Transform):
    """A number or list of numbers -> float32 tensor (scalar or (n_out,))."""

    def encode(self, x: Any, kind: str) -> torch.Tensor:
        try:
            return torch.as_tensor(x, dtype=torch.float32)
        except (TypeError, ValueError, RuntimeError) as error:
            raise ValueError(f"regression target {x!r} is not numeric: {error}") from None


# ----------------------------------------------------------------------------- blocks
class TransformBlock:
    """Base block: an element's kind, its transforms, and (for targets) how to learn it.

    Subclass and override the class attributes and methods, or build one directly, e.g.
    `TransformBlock(kind="regression", type_tfms=[ToFloatTarget()])`.

    Attributes:
        kind: the string that travels beside the element ("category", "regression", ...).
        lazy: type transforms run when the item is read (True) or when the data set is built.
        loss_name, loss_kwargs: a registered loss (`lamina.train.losses`) suiting this target.
        activation: "softmax", "sigmoid" or None: turns model outputs into predictions.
        metric_names: registered metrics suiting this target.
    """

    kind: str = "object"
    lazy: bool = False
    loss_name: str | None = None
    loss_kwargs: dict[str, Any] = {}  # noqa: RUF012  (read-only class default)
    activation: str | None = None
    metric_names: tuple[str, ...] = ()

    def __init__(
        self,
        kind: str | None = None,
        type_tfms: Sequence[Transform] | None = None,
        item_tfms: Sequence[Transform] | None = None,
        batch_tfms: Sequence[Transform] | None = None,
    ) -> None:
        if kind is not None:
            if not (isinstance(kind, str) and kind):
                raise ValueError(f"kind must be a non-empty string, got {kind!r}")
            self.kind = kind
        self._type_tfms = list(type_tfms or [])
        self._item_tfms = list(item_tfms or [])
        self._batch_tfms = list(batch_tfms or [])

    def type_tfms(self) -> list[Transform]:
        """Fresh type transforms (fitted per data set, so a block can be reused)."""
        import copy

        return [copy.deepcopy(tfm) for tfm in self._type_tfms]

    def item_tfms(self) -> list[Transform]:
        """Item transforms this element needs by default (e.g. conversion to tensor)."""
        return list(self._item_tfms)

    def batch_tfms(self) -> list[Transform]:
        """Batch transforms this element needs by default (e.g. uint8 -> float)."""
        return list(self._batch_tfms)

    def type_tfms_for(self, item_tfms: Sequence[Transform], kinds: Kinds) -> list[Transform]:
        """The type transforms for a data set with these item transforms and element kinds.

        Override to tune how an element is read from what follows (a block of files may decode at
        the size the item transforms ask for); the default is `type_tfms()`.
        """
        return self.type_tfms()

    def arrange_tfms(
        self,
        item_tfms: Sequence[Transform],
        batch_tfms: Sequence[Transform],
        device: torch.device | None,
        fuse_augment: bool | str = False,
    ) -> tuple[list[Transform], list[Transform]]:
        """Rearrange the merged item and batch transforms before they are used.

        Called by `DataBlock` with `device=None` when it is built, and with the loaders' device
        (and the caller's `fuse_augment`) when loaders are made. A block may merge neighbouring
        steps or move work between the item and batch stages; the default changes nothing.
        """
        return list(item_tfms), list(batch_tfms)

    def collate(self, values: list[Any]) -> Any:
        """Batch this element's values (one per sample); default: torch's `default_collate`.

        Override for elements that need padding or other batching of their own.
        """
        return torch.utils.data.default_collate(values)

    @property
    def collates_by_stacking(self) -> bool:
        """Whether this block batches its values by stacking them (`collate` not overridden),
        so that they must share one shape."""
        return type(self).collate is TransformBlock.collate

    def unequal_shapes_message(self, examples: list[tuple[str, tuple[int, ...]]]) -> str:
        """The error message when this element's values in one batch differ in shape.

        `examples`: one `(item name, shape)` per distinct shape, in batch order. Override to
        phrase it in the block's terms and suggest its fix.
        """
        from lamina.data.collate_check import default_unequal_shapes_message

        return default_unequal_shapes_message(f"the {self.kind} element", examples)

    def dataloader(self, dataset: ItemDataset, settings: dict[str, Any]) -> Iterable | None:
        """A loader of this block's own for `dataset`, or None for the standard one.

        `settings` holds the loader settings `DataBlock.dataloaders` was given (bs, shuffle,
        drop_last, device, seed, batch_tfms, ...). A data set that is not read item by item (a
        stream cut into windows) returns its own iterable of batches here.
        """
        return None

    def self_target(self, type_tfms: Sequence[Transform]) -> TargetInfo | None:
        """For an input block whose loader derives the targets from the inputs (a stream
        predicting its next element), what those targets call for; None (the default) when the
        targets come from target blocks."""
        return None

    def show(self, ax: Axes, value: Any, context: dict[str, Any]) -> str | None:
        """Draw `value` on `ax`, or return text for the sample's title (the default).

        `context` is shared by the elements of one sample (an element may record what a later
        one needs, e.g. the size of what it drew).
        """
        from lamina.data.show import label_text

        return label_text(value)

    def describe(self, value: Any) -> str | None:
        """A one-line description of a value of this element for `DataBlock.summary`, or None
        to use the generic one."""
        return None

    def verify(self, value: Any) -> None:
        """Raise if `value` cannot be read (a fast check used by `skip_bad_items`)."""

    def n_out(self, type_tfms: Sequence[Transform], example: Any) -> int | None:
        """Model outputs this target needs, given its fitted type transforms and one element."""
        if isinstance(example, torch.Tensor):
            return max(example.numel(), 1)
        return None

    def config(self) -> dict[str, Any]:
        """JSON constructor arguments."""
        return {"kind": self.kind}

    def __repr__(self) -> str:
        args = ", ".join(f"{key}={value!r}" for key, value in self.config().items())
        return f"{type(self).__name__}({args})"


def _vocab_size(type_tfms: Sequence[Transform]) -> int | None:
    for tfm in type_tfms:
        vocab = getattr(tfm, "vocab", None)
        if vocab is not None:
            return len(vocab)
    return None


@register("block")
class CategoryBlock(TransformBlock):
    """One label per item, encoded as an index into a vocab fitted on the training labels."""

    kind = "category"
    loss_name = "cross_entropy_flat"
    activation = "softmax"
    metric_names = ("accuracy",)

    def __init__(self, vocab: Sequence[Any] | None = None) -> None:
        super().__init__()
        self.vocab = as_vocab(vocab)

    def type_tfms(self) -> list[Transform]:
        return [Categorize(self.vocab)]

    def n_out(self, type_tfms: Sequence[Transform], example: Any) -> int | None:
        return _vocab_size(type_tfms)

    def config(self) -> dict[str, Any]:
        return {"vocab": None if self.vocab is None else self.vocab.to_list()}


@register("block")
class MultiCategoryBlock(TransformBlock):
    """Several labels per item, encoded multi-hot; `encoded=True` when targets already are."""

    kind = "multicategory"
    loss_name = "bce_with_logits_flat"
    activation = "sigmoid"
    metric_names = ("accuracy_multi",)

    def __init__(self, vocab: Sequence[Any] | None = None, encoded: bool = False) -> None:
        super().__init__()
        if encoded and vocab is None:
            raise ValueError("encoded=True needs vocab= (the name of each column of the targets)")
        self.vocab, self.encoded = as_vocab(vocab), encoded

    def type_tfms(self) -> list[Transform]:
        return [MultiCategorize(self.vocab, self.encoded)]

    def n_out(self, type_tfms: Sequence[Transform], example: Any) -> int | None:
        return _vocab_size(type_tfms)

    def config(self) -> dict[str, Any]:
        vocab = None if self.vocab is None else self.vocab.to_list()
        return {"vocab": vocab, "encoded": self.encoded}


@register("block")
class RegressionBlock(TransformBlock):
    """A number, or `n_out` numbers, per item."""

    kind = "regression"
    loss_name = "mse_flat"

    def __init__(self, n_out: int | None = None) -> None:
        super().__init__()
        if n_out is not None and not (isinstance(n_out, int) and n_out >= 1):
            raise ValueError(f"n_out must be a positive integer or None, got {n_out!r}")
        self.n_out_ = n_out

    def type_tfms(self) -> list[Transform]:
        return [ToFloatTarget()]

    def n_out(self, type_tfms: Sequence[Transform], example: Any) -> int | None:
        if self.n_out_ is not None:
            return self.n_out_
        return super().n_out(type_tfms, example)

    def config(self) -> dict[str, Any]:
        return {"n_out": self.n_out_}
