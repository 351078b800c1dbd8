"""Object-detection targets: bounding boxes (`BBoxBlock`) and their labels (`BBoxLblBlock`).

An item has any number of boxes, each `(x0, y0, x1, y1)` in pixels of its image (left, top,
right, bottom edges), and one label per box. Both blocks are targets that follow an
`ImageBlock`:

    >>> dblock = DataBlock(
    ...     blocks=(ImageBlock, BBoxBlock, BBoxLblBlock), get_items=get_image_files,
    ...     get_y=[get_boxes, get_labels], n_inp=1, item_tfms=Resize(128),
    ...     batch_tfms=aug_transforms())

Boxes move with the image through every geometric transform (`box_geometry` says how; boxes
that leave the image are dropped with their labels) and become [-1, 1] coordinates in
`ToTensor`, like points. Collation pads each batch to its largest number of boxes (at least
one): padding boxes are all zeros and their label is index 0, the vocab's first entry `"#na#"`,
which also serves as the background class.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch

from lamina.core.registry import register
from lamina.data.blocks import TransformBlock
from lamina.data.transform import Transform
from lamina.data.vocab import Vocab, as_vocab
from lamina.vision.data.box_geometry import (
    BOX_KIND,
    BOX_LABEL_KIND,
    PAD_LABEL,
    PAD_NAME,
    as_box_tensor,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes


# ----------------------------------------------------------------------------- type transforms
@register("transform")
class ToBoxes(Transform):
    """Boxes -> float tensor (N, 4) of (x0, y0, x1, y1) pixel edges; checked to be well formed."""

    def encode(self, x: Any, kind: str) -> torch.Tensor:
        try:
            boxes = as_box_tensor([] if x is None else x)
        except (TypeError, ValueError, RuntimeError) as error:
            raise ValueError(
                f"boxes must be numbers (x0, y0, x1, y1), got {x!r}: {error}"
            ) from None
        if boxes.numel() == 0:  # an item without boxes
            return torch.zeros(0, 4)
        if boxes.ndim == 1 and boxes.numel() % 4 == 0:
            boxes = boxes.view(-1, 4)
        if boxes.ndim != 2 or boxes.shape[1] != 4:
            raise ValueError(
                f"boxes must have shape (N, 4) as (x0, y0, x1, y1), got {tuple(boxes.shape)}"
            )
        if not bool(torch.isfinite(boxes).all()):
            raise ValueError(f"boxes must be finite, got {boxes.tolist()}")
        inverted = ((boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1])).nonzero()
        if len(inverted):
            index = int(inverted[0])
            raise ValueError(
                f"box {index} {boxes[index].tolist()} has x1 < x0 or y1 < y0: boxes are "
                "(x0, y0, x1, y1) corners; convert (x, y, width, height) with x1 = x + width"
            )
        return boxes


@register("transform")
class BoxLabels(Transform):
    """A list of labels (one per box) -> int64 tensor (N,) of indices into a vocab whose entry 0
    is `"#na#"`, the padding and background class.

    The vocab is fitted on the training labels (sorted after `"#na#"`) unless given; a given
    vocab gets `"#na#"` put first when `add_na` and it lacks it.
    """

    def __init__(self, vocab: Sequence[Any] | Vocab | None = None, add_na: bool = True) -> None:
        self.add_na = bool(add_na)
        self.vocab = None if vocab is None else _with_na(as_vocab(vocab), self.add_na)

    def setup(self, labels: Sequence[Any]) -> None:
        """Fit the vocab on the union of the training label lists, unless one was given."""
        if self.vocab is None:
            names = Vocab.from_labels(
                label for item in labels for label in _label_list(item) if label != PAD_NAME
            )
            self.vocab = _with_na(names, self.add_na)

    def _fitted(self) -> Vocab:
        if self.vocab is None:
            raise ValueError("BoxLabels has no vocab: call setup(labels) or pass vocab=")
        return self.vocab

    def encode(self, x: Any, kind: str) -> torch.Tensor:
        vocab = self._fitted()
        return torch.tensor([vocab.index(label) for label in _label_list(x)], dtype=torch.int64)

    def decode(self, x: Any, kind: str) -> Any:
        """Indices -> labels: a list per item (nested lists for a batch)."""
        vocab = self._fitted()
        indices = torch.as_tensor(x)
        if indices.ndim == 0:
            return vocab[int(indices)]
        if indices.ndim == 1:
            return [vocab[int(i)] for i in indices.tolist()]
        return [self.decode(row, kind) for row in indices]

    def config(self) -> dict[str, Any]:
        vocab = None if self.vocab is None else self.vocab.to_list()
        return {"vocab": vocab, "add_na": self.add_na}


def _label_list(labels: Any) -> list[Any]:
    if labels is None:
        return []
    if isinstance(labels, (str, bytes)) or not hasattr(labels, "__iter__"):
        raise ValueError(
            f"box labels must be a list with one label per box, got {labels!r}; wrap a single "
            "label in a list"
        )
    if isinstance(labels, torch.Tensor):
        return labels.tolist()
    return list(labels)


def _with_na(vocab: Vocab | None, add_na: bool) -> Vocab | None:
    if vocab is None or not add_na or (len(vocab) and vocab[0] == PAD_NAME):
        return vocab
    return Vocab([PAD_NAME, *(label for label in vocab if label != PAD_NAME)])


# ----------------------------------------------------------------------------- collation
def pad_boxes(values: Sequence[torch.Tensor]) -> torch.Tensor:
    """Boxes `(N_i, 4)` of each item -> `(B, max(N_i, 1), 4)`, padded with zero boxes."""
    count = max([len(value) for value in values] + [1])
    out = torch.zeros(len(values), count, 4)
    for index, value in enumerate(values):
        out[index, : len(value)] = as_box_tensor(value)
    return out


def pad_box_labels(values: Sequence[torch.Tensor]) -> torch.Tensor:
    """Labels `(N_i,)` of each item -> `(B, max(N_i, 1))`, padded with `PAD_LABEL`."""
    count = max([len(value) for value in values] + [1])
    out = torch.full((len(values), count), PAD_LABEL, dtype=torch.int64)
    for index, value in enumerate(values):
        out[index, : len(value)] = torch.as_tensor(value, dtype=torch.int64)
    return out


# ----------------------------------------------------------------------------- blocks
@register("block")
class BBoxBlock(TransformBlock):
    """Bounding boxes (N, 4) of (x0, y0, x1, y1) pixel edges, moving with their image; [-1, 1]
    once tensors; padded with zero boxes to the batch's largest count."""

    kind = BOX_KIND

    def type_tfms(self) -> list[Transform]:
        return [ToBoxes()]

    def collate(self, values: list[Any]) -> torch.Tensor:
        return pad_boxes(values)

    def show(self, ax: Axes, value: Any, context: dict[str, Any]) -> str | None:
        from lamina.vision.data.show import draw_boxes

        context["box_patches"] = draw_boxes(ax, value, context.get("size"))
        return None

    def describe(self, value: Any) -> str | None:
        if isinstance(value, torch.Tensor) and value.ndim == 2 and value.shape[-1] == 4:
            shown = [[round(v, 3) for v in box] for box in value[:2].tolist()]
            more = ", ..." if len(value) > 2 else ""
            return f"{len(value)} boxes (x0, y0, x1, y1): {shown}{more}"
        return None

    def n_out(self, type_tfms: Sequence[Transform], example: Any) -> int | None:
        return None

    def config(self) -> dict[str, Any]:
        return {}


@register("block")
class BBoxLblBlock(TransformBlock):
    """The label of each box (a list per item), as indices into a vocab whose entry 0 is
    `"#na#"` (padding and background); padded with 0 to the batch's largest count."""

    kind = BOX_LABEL_KIND

    def __init__(self, vocab: Sequence[Any] | None = None, add_na: bool = True) -> None:
        super().__init__()
        self.add_na = bool(add_na)
        self.vocab = _with_na(as_vocab(vocab), self.add_na)

    def type_tfms(self) -> list[Transform]:
        return [BoxLabels(self.vocab, self.add_na)]

    def collate(self, values: list[Any]) -> torch.Tensor:
        return pad_box_labels(values)

    def show(self, ax: Axes, value: Any, context: dict[str, Any]) -> str | None:
        from lamina.data.show import label_text
        from lamina.vision.data.show import label_boxes

        labels = value if isinstance(value, list) else [value]
        patches = context.get("box_patches")
        if patches is None:  # no boxes drawn on these axes: the labels go in the title
            return label_text([label for label in labels if label != PAD_NAME])
        label_boxes(ax, patches, labels)
        return None

    def describe(self, value: Any) -> str | None:
        if isinstance(value, torch.Tensor) and value.ndim == 1:
            shown = value[:8].tolist()
            return f"{len(value)} box labels: {shown}{', ...' if len(value) > 8 else ''}"
        return None

    def n_out(self, type_tfms: Sequence[Transform], example: Any) -> int | None:
        for tfm in type_tfms:
            vocab = getattr(tfm, "vocab", None)
            if vocab is not None:
                return len(vocab)
        return None

    def config(self) -> dict[str, Any]:
        vocab = None if self.vocab is None else self.vocab.to_list()
        return {"vocab": vocab, "add_na": self.add_na}
