"""Blocks: what each element of a sample is, how to build it, show it, and learn from it.

A block names the element's *kind*, the *type transforms* that turn a raw value (a path, a
label) into the element (a PIL image, an index tensor), the item and batch transforms it needs by
default, and, for targets, the loss, activation and metrics that suit it. The data layer sits
below the losses and metrics, so a block only *names* them; the training layer looks them up.

Type transforms are `Transform`s applied to one element at a time. Those of a *lazy* block (images,
masks) run when an item is read, in the worker; the others (labels) run once, when the data set
is built, so a bad label is reported before training starts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from lamina.core.registry import register
from lamina.data.transforms.base import Transform
from lamina.data.vocab import Vocab, as_vocab


# ----------------------------------------------------------------------------- type transforms
@register("transform")
class OpenImage(Transform):
    """Path (or PIL image, or NumPy array) -> PIL image in `mode`, decoded at reduced size when
    `draft_size` (width, height) allows (JPEG only)."""

    def __init__(self, mode: str = "RGB", draft_size: Sequence[int] | None = None) -> None:
        if mode not in ("RGB", "L"):
            raise ValueError(f"mode must be 'RGB' or 'L', got {mode!r}")
        self.mode = mode
        self.draft_size = None if draft_size is None else (int(draft_size[0]), int(draft_size[1]))

    def encode(self, x: Any, kind: str) -> Any:
        from lamina.data.images import open_image

        if _is_path(x):
            return open_image(x, mode=self.mode, draft_size=self.draft_size)
        return _in_memory_image(x, self.mode)

    def config(self) -> dict[str, Any]:
        draft = None if self.draft_size is None else list(self.draft_size)
        return {"mode": self.mode, "draft_size": draft}


@register("transform")
class OpenMask(Transform):
    """Path (or PIL image, or array) -> PIL image of class indices."""

    def encode(self, x: Any, kind: str) -> Any:
        from lamina.data.images import open_mask

        if _is_path(x):
            return open_mask(x)
        return _in_memory_image(x, None)


def _is_path(x: Any) -> bool:
    return isinstance(x, str) or hasattr(x, "__fspath__")


def _in_memory_image(x: Any, mode: str | None) -> Any:
    """A PIL image, NumPy array (H, W[, C]) or tensor (C, H, W) as a PIL image in `mode`."""
    from PIL import Image

    from lamina.data.images import convert_image, tensor_to_image

    if isinstance(x, torch.Tensor):
        x = tensor_to_image(x)
    elif not isinstance(x, Image.Image):
        try:
            x = Image.fromarray(np.asarray(x))
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"expected an image path, PIL image, array or tensor, got {type(x).__name__}: "
                f"{error}"
            ) from None
    # The same conversions as files get (16-bit, palette, alpha over white, CMYK).
    return x if mode is None else convert_image(x, mode)


@register("transform")
class Categorize(Transform):
    """Label -> int64 index into a vocab fitted on the training labels (sorted, stable)."""

    def __init__(self, vocab: Sequence[Any] | None = None) -> None:
        self.vocab = as_vocab(vocab)

    def setup(self, labels: Sequence[Any]) -> None:
        """Fit the vocab on the training labels, unless one was given."""
        if self.vocab is None:
            self.vocab = Vocab.from_labels(labels)

    def encode(self, x: Any, kind: str) -> torch.Tensor:
        if self.vocab is None:
            raise ValueError("Categorize has no vocab: call setup(labels) or pass vocab=")
        return torch.tensor(self.vocab.index(x), dtype=torch.int64)

    def decode(self, x: Any, kind: str) -> Any:
        if isinstance(x, torch.Tensor) and x.ndim > 0:
            return [self.vocab[int(i)] for i in x.tolist()]
        return self.vocab[int(x)]

    def config(self) -> dict[str, Any]:
        return {"vocab": None if self.vocab is None else self.vocab.to_list()}


@register("transform")
class MultiCategorize(Transform):
    """A list of labels -> float multi-hot tensor (n_classes,); `encoded`: already multi-hot."""

    def __init__(self, vocab: Sequence[Any] | None = None, encoded: bool = False) -> None:
        if encoded and vocab is None:
            raise ValueError("encoded=True needs vocab= (the name of each column of the targets)")
        self.vocab, self.encoded = as_vocab(vocab), encoded

    def setup(self, labels: Sequence[Any]) -> None:
        """Fit the vocab on the union of the training label lists, unless one was given."""
        if self.vocab is None:
            self.vocab = Vocab.from_labels(label for item in labels for label in _as_list(item))

    def encode(self, x: Any, kind: str) -> torch.Tensor:
        if self.vocab is None:
            raise ValueError("MultiCategorize has no vocab: call setup(labels) or pass vocab=")
        if self.encoded:
            hot = torch.as_tensor(x, dtype=torch.float32).flatten()
            if hot.numel() != len(self.vocab):
                raise ValueError(f"expected {len(self.vocab)} multi-hot values, got {hot.numel()}")
            return hot
        hot = torch.zeros(len(self.vocab), dtype=torch.float32)
        for label in _as_list(x):
            hot[self.vocab.index(label)] = 1.0
        return hot

    def decode(self, x: Any, kind: str) -> Any:
        if isinstance(x, torch.Tensor) and x.ndim > 1:
            return [self.decode(row, kind) for row in x]
        return [self.vocab[int(i)] for i in torch.nonzero(torch.as_tensor(x) > 0.5).flatten()]

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
class ToPoints(Transform):
    """Coordinates -> float tensor (N, 2) of (x, y) pixel positions."""

    def encode(self, x: Any, kind: str) -> torch.Tensor:
        points = torch.as_tensor(x, dtype=torch.float32)
        if points.ndim == 1 and points.numel() % 2 == 0:
            points = points.view(-1, 2)
        if points.ndim != 2 or points.shape[1] != 2:
            raise ValueError(f"points must have shape (N, 2), got {tuple(points.shape)}")
        return points


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
        kind: the string that travels beside the element ("image", "category", ...).
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
class ImageBlock(TransformBlock):
    """An image read from a path, as RGB or grey ("L"); a uint8 tensor (C, H, W) after the item
    transforms and a float in [0, 1] after the batch transforms."""

    kind = "image"
    lazy = True

    def __init__(self, mode: str = "RGB") -> None:
        super().__init__()
        if mode not in ("RGB", "L"):
            raise ValueError(f"mode must be 'RGB' or 'L', got {mode!r}")
        self.mode = mode

    def type_tfms(self) -> list[Transform]:
        return [OpenImage(self.mode)]

    def item_tfms(self) -> list[Transform]:
        from lamina.data.transforms.item import ToTensor

        return [ToTensor()]

    def batch_tfms(self) -> list[Transform]:
        from lamina.data.transforms.batch import IntToFloat

        return [IntToFloat()]

    def verify(self, value: Any) -> None:
        if _is_path(value):
            from lamina.data.images import verify_image

            verify_image(value)

    def config(self) -> dict[str, Any]:
        return {"mode": self.mode}


@register("block")
class MaskBlock(TransformBlock):
    """A segmentation mask of class indices, moving with its image; `codes` names the classes."""

    kind = "mask"
    lazy = True
    loss_name = "cross_entropy_flat"
    loss_kwargs = {"axis": 1}  # noqa: RUF012
    activation = "softmax"

    def __init__(self, codes: Sequence[Any] | None = None) -> None:
        super().__init__()
        self.codes = None if codes is None else list(codes)

    def type_tfms(self) -> list[Transform]:
        return [OpenMask()]

    def item_tfms(self) -> list[Transform]:
        from lamina.data.transforms.item import ToTensor

        return [ToTensor()]

    def verify(self, value: Any) -> None:
        ImageBlock.verify(self, value)

    def n_out(self, type_tfms: Sequence[Transform], example: Any) -> int | None:
        return None if self.codes is None else len(self.codes)

    def config(self) -> dict[str, Any]:
        return {"codes": self.codes}


@register("block")
class PointBlock(TransformBlock):
    """Points (N, 2) of (x, y) pixel coordinates, moving with their image; [-1, 1] once tensors."""

    kind = "points"
    loss_name = "mse_flat"

    def type_tfms(self) -> list[Transform]:
        return [ToPoints()]

    def config(self) -> dict[str, Any]:
        return {}


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
