"""Reading a trained classifier or segmenter: confusion, worst items, per-class scores.

Memory stays bounded on large validation sets. `ClassificationInterpretation` keeps, per item,
the predicted probabilities, the target and the loss, never the inputs: the items it plots are
fetched again by index from the data set and run through the loader's pipeline. For
segmentation even per-pixel predictions would be large, so `SegmentationInterpretation` adds
each batch into a (C, C) pixel confusion matrix as it goes, keeping one loss per item.

The matching segmentation metrics (`Dice`, `JaccardCoeff`, `foreground_acc`) live in
`lamina.train.metrics`; `Dice` and `IoU` (`JaccardCoeff` named "iou") stay importable from here.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from lamina.data.loaders import loader_at, target_labels
from lamina.train.callback import Callback
from lamina.train.inspect import per_item_loss
from lamina.train.metrics_segmentation import Dice as Dice  # re-exported, as in 0.2
from lamina.train.metrics_segmentation import JaccardCoeff
from lamina.train.metrics_segmentation import pixel_confusion as confusion_counts
from lamina.vision.interpret_multilabel import MultiLabelInterpretation
from lamina.vision.show import (
    batch_of_items,
    grid_figure,
    predict_batch,
    show_mask_rows,
    show_sample,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from lamina.train.learner import Learner


def _ordered(dl: Any) -> Any:
    """`dl` in data-set order (unshuffled, every item), so position i is `dl.dataset[i]`; a
    training loader also gets the validation transforms, so an item reads the same every time."""
    dataset = getattr(dl, "dataset", None)
    if dataset is not None and hasattr(dl, "new") and getattr(dataset, "split_idx", None) == 0:
        dataset = copy.copy(dataset)
        dataset.split_idx = 1
        return dl.new(dataset=dataset, shuffle=False, drop_last=False)
    if hasattr(dl, "new") and (getattr(dl, "shuffle", False) or getattr(dl, "drop_last", False)):
        return dl.new(shuffle=False, drop_last=False)
    return dl


def _check_k(k: int | None, n: int) -> int:
    if k is None:
        return n
    if not (isinstance(k, int) and not isinstance(k, bool) and k >= 1):
        raise ValueError(f"k must be a positive integer or None, got {k!r}")
    return min(k, n)


def _top(losses: torch.Tensor, k: int | None, largest: bool) -> tuple[torch.Tensor, torch.Tensor]:
    return losses.topk(_check_k(k, len(losses)), largest=largest)


# ----------------------------------------------------------------------------- classification
class ClassificationInterpretation:
    """Confusion matrix, most confused pairs, top losses and per-class report of a classifier.

    Build it with `from_learner` (which returns a `MultiLabelInterpretation` for multi-label
    learners). Attributes: `preds` (N, C) probabilities, `targs` (N,) class
    indices, `losses` (N,), `decoded` (N,) predicted indices, `vocab`, and `dl`, the loader in
    data-set order (item i of the tensors is `dl.dataset[i]`).

    Example:
        >>> interp = ClassificationInterpretation.from_learner(learn)
        >>> interp.most_confused(min_val=2)
        [('3', '8', 5), ('7', '1', 2)]
        >>> fig = interp.plot_top_losses(9)
    """

    def __init__(
        self,
        dl: Any,
        preds: torch.Tensor,
        targs: torch.Tensor,
        losses: torch.Tensor,
        vocab: Sequence[Any],
        n_inp: int = 1,
    ) -> None:
        if preds.ndim != 2 or targs.ndim != 1 or len(preds) != len(targs):
            raise ValueError(
                "ClassificationInterpretation needs single-label predictions (N, C) and targets "
                f"(N,), got {tuple(preds.shape)} and {tuple(targs.shape)}; for multi-label "
                "targets (N, C) use MultiLabelInterpretation (or from_learner, which picks it)"
            )
        if preds.shape[1] != len(vocab):
            raise ValueError(f"the model gives {preds.shape[1]} classes but vocab has {len(vocab)}")
        self.dl, self.preds, self.targs, self.losses = dl, preds, targs.long(), losses
        self.vocab, self.n_inp = list(vocab), n_inp
        self.decoded = preds.argmax(dim=1)

    @classmethod
    def from_learner(
        cls, learn: Learner, ds_idx: int = 1, dl: Any = None, thresh: float | None = None
    ) -> ClassificationInterpretation | MultiLabelInterpretation:
        """Predict on the validation set (`ds_idx=1`), the training set (0) or `dl`.

        A multi-label learner (0/1 targets of one column per label) gets a
        `MultiLabelInterpretation`, with labels predicted above `thresh` (default: the loss's
        threshold, else 0.5); `thresh` has no meaning for single-label learners.
        """
        vocab = target_labels(learn.dls)
        if vocab is None:
            raise ValueError("the learner's data has no vocab: it is not a classification task")
        dl = _ordered(loader_at(learn.dls, ds_idx) if dl is None else dl)
        preds, targs, losses = learn.get_preds(dl=dl, with_loss=True)
        if targs.ndim == 2 and targs.shape == preds.shape:
            return MultiLabelInterpretation.from_preds(learn, dl, preds, targs, losses, thresh)
        if thresh is not None:
            raise ValueError(
                f"thresh={thresh!r} is for multi-label learners; this one predicts one class "
                "per item (the most probable), so leave thresh out"
            )
        return cls(dl, preds, targs, losses, vocab, learn.dls.n_inp)

    def confusion_matrix(self) -> np.ndarray:
        """(C, C) counts: rows are actual classes, columns predicted, both in vocab order."""
        return confusion_counts(self.targs, self.decoded, len(self.vocab)).numpy()

    def most_confused(self, min_val: int = 1) -> list[tuple[Any, Any, int]]:
        """`(actual, predicted, count)` for each wrong pair seen at least `min_val` times, most
        frequent first (ties in vocab order)."""
        matrix = self.confusion_matrix()
        np.fill_diagonal(matrix, 0)
        rows, cols = np.nonzero(matrix >= max(min_val, 1))
        pairs = [
            (self.vocab[r], self.vocab[c], int(matrix[r, c]))
            for r, c in zip(rows, cols, strict=True)
        ]
        return sorted(pairs, key=lambda pair: -pair[2])

    def top_losses(
        self, k: int | None = None, largest: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The `k` largest (or smallest) losses and their item indices (default: all, sorted)."""
        return _top(self.losses, k, largest)

    def plot_confusion_matrix(
        self,
        normalize: bool = False,
        cmap: str = "Blues",
        figsize: tuple[float, float] | None = None,
        digits: int = 2,
    ) -> Figure:
        """The confusion matrix as a heat map with counts (or row fractions when `normalize`);
        returns the matplotlib figure (shown once in Jupyter)."""
        from lamina.core.figures import new_figure

        matrix = self.confusion_matrix().astype(float)
        if normalize:
            matrix = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
        n = len(self.vocab)
        fig = new_figure(figsize=figsize or (max(4.0, 0.6 * n + 2), max(4.0, 0.6 * n + 2)))
        ax = fig.subplots()
        ax.imshow(matrix, cmap=cmap, interpolation="nearest")
        ax.set(xticks=range(n), yticks=range(n), xlabel="predicted", ylabel="actual")
        ax.set_xticklabels([str(v) for v in self.vocab], rotation=90)
        ax.set_yticklabels([str(v) for v in self.vocab])
        ax.set_title("confusion matrix" + (" (normalized)" if normalize else ""))
        threshold = matrix.max() / 2
        for (row, col), value in np.ndenumerate(matrix):
            text = f"{value:.{digits}f}" if normalize else f"{int(value)}"
            color = "white" if value > threshold else "black"
            ax.text(col, row, text, ha="center", va="center", color=color, fontsize=8)
        fig.tight_layout()
        return fig

    def plot_top_losses(
        self,
        k: int = 9,
        largest: bool = True,
        ncols: int = 3,
        figsize: Any = None,
        nrows: int | None = None,
    ) -> Figure:
        """The `k` items with the largest losses, titled actual / predicted / loss / probability
        of the predicted class. Only these `k` items are read again, through the pipeline.
        `ncols`/`nrows` and `figsize` set the grid; the figure shows once in Jupyter."""
        kinds = tuple(getattr(self.dl, "kinds", ())[: self.n_inp])
        if "image" not in kinds:
            raise ValueError(f"plot_top_losses draws images; the inputs have kinds {kinds}")
        losses, indices = self.top_losses(k, largest)
        batch = batch_of_items(self.dl, indices.tolist())
        decoded = self.dl.decode(batch)
        inputs = list(zip(*decoded[: self.n_inp], strict=True))
        fig, axes = grid_figure(len(indices), ncols, figsize, nrows)
        for ax, sample, loss, index in zip(axes, inputs, losses, indices.tolist(), strict=False):
            show_sample(ax, sample, kinds)
            actual, predicted = self.vocab[self.targs[index]], self.vocab[self.decoded[index]]
            prob = float(self.preds[index, self.decoded[index]])
            ax.set_title(f"{actual} / {predicted}\n{float(loss):.2f} / {prob:.2f}", fontsize=9)
        fig.suptitle("actual / predicted\nloss / probability of predicted")
        fig.tight_layout()
        return fig

    def classification_report(self, digits: int = 2) -> str:
        """Precision, recall, F1 and support per class, with accuracy and the macro and
        support-weighted averages, in scikit-learn's layout (classes never predicted score 0)."""
        from sklearn.metrics import classification_report

        return classification_report(
            self.targs.numpy(),
            self.decoded.numpy(),
            labels=list(range(len(self.vocab))),
            target_names=[str(v) for v in self.vocab],
            digits=digits,
            zero_division=0,
        )

    def print_classification_report(self, digits: int = 2) -> None:
        """Print `classification_report`."""
        print(self.classification_report(digits))


# ----------------------------------------------------------------------------- segmentation
class _SegmentationStats(Callback):
    """Adds each validation batch to a pixel confusion matrix; keeps one loss per item."""

    order = 100
    run_train = False

    def __init__(self, n_classes: int) -> None:
        self.n_classes = n_classes
        self.confusion = torch.zeros(n_classes, n_classes, dtype=torch.int64)
        self.losses: list[torch.Tensor] = []

    def after_pred(self) -> None:
        learn = self.learn
        pred, targ = learn.pred, learn.yb[0]  # (B, C, H, W), (B, H, W)
        counts = confusion_counts(targ, pred.argmax(dim=1), self.n_classes)
        self.confusion += counts.cpu()
        assert learn.loss_func is not None, "get_preds settles the loss before any batch"
        self.losses.append(per_item_loss(learn.loss_func, pred, learn.yb).cpu())


class SegmentationInterpretation:
    """Per-class IoU and Dice of a segmenter over the whole validation set, and its worst items.

    Attributes: `confusion` (C, C) pixel counts (rows actual, columns predicted), `losses` (N,)
    per item, `codes` (class names), `dl` in data-set order.

    Example:
        >>> interp = SegmentationInterpretation.from_learner(learn)
        >>> dict(zip(interp.codes, interp.iou()))
        >>> fig = interp.plot_top_losses(4)
    """

    def __init__(
        self, dl: Any, confusion: np.ndarray, losses: torch.Tensor, codes: Sequence[Any]
    ) -> None:
        self.dl, self.confusion, self.losses, self.codes = dl, confusion, losses, list(codes)

    @classmethod
    def from_learner(
        cls, learn: Learner, ds_idx: int = 1, dl: Any = None
    ) -> SegmentationInterpretation:
        """Run the model over the validation set (`ds_idx=1`), the training set (0) or `dl`."""
        dl = _ordered(loader_at(learn.dls, ds_idx) if dl is None else dl)
        codes = _codes(learn)
        if codes is None:
            raise ValueError("SegmentationInterpretation needs MaskBlock(codes=[...]) in the data")
        stats = _SegmentationStats(len(codes))
        learn.validate(dl=dl, cbs=[stats])
        return cls(dl, stats.confusion.numpy(), torch.cat(stats.losses), codes)

    def iou(self) -> np.ndarray:
        """Per class: intersection over union of predicted and actual pixels (nan if neither)."""
        hits = np.diag(self.confusion).astype(float)
        union = self.confusion.sum(0) + self.confusion.sum(1) - hits
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(union > 0, hits / union, np.nan)

    def dice(self) -> np.ndarray:
        """Per class: 2 |P and A| / (|P| + |A|) over all pixels (nan if the class is absent)."""
        hits = np.diag(self.confusion).astype(float)
        total = self.confusion.sum(0) + self.confusion.sum(1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(total > 0, 2 * hits / total, np.nan)

    def mean_iou(self) -> float:
        """The mean of `iou()` over classes present in targets or predictions."""
        return float(np.nanmean(self.iou()))

    def top_losses(
        self, k: int | None = None, largest: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The `k` largest (or smallest) per-item losses and their item indices."""
        return _top(self.losses, k, largest)

    def plot_top_losses(self, learn: Learner, k: int = 4, largest: bool = True) -> Figure:
        """Rows of image | target mask | predicted mask for the `k` items with the largest
        losses (re-read and re-predicted; only these `k` are held)."""
        losses, indices = self.top_losses(k, largest)
        batch = batch_of_items(self.dl, indices.tolist())
        _, predicted = predict_batch(learn, batch)
        decoded = self.dl.decode(batch)
        titles = [
            f"item {i}, loss {float(loss):.3f}"
            for i, loss in zip(indices.tolist(), losses, strict=True)
        ]
        return show_mask_rows(decoded[0], decoded[1], predicted.cpu(), titles)


def _codes(learn: Learner) -> list[Any] | None:
    datasets = getattr(learn.dls, "datasets", None)
    if datasets is None:
        return None
    blocks = datasets.blocks[learn.dls.n_inp :]
    return getattr(blocks[0], "codes", None) if blocks else None


# ----------------------------------------------------------------------------- metrics
class IoU(JaccardCoeff):
    """`JaccardCoeff` (mean intersection over union over the classes present) under the name
    lamina 0.2 gave it here, shown as "iou"."""

    default_name = "iou"
    default_average = "macro"
