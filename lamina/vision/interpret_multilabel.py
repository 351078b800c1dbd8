"""Reading a trained multi-label classifier: per-label confusion and scores, worst items.

A multi-label model (a `MultiCategoryBlock` target, binary cross-entropy on logits) predicts a
set of labels per item: each label whose probability is above a threshold. Its mistakes are
counted per label, as a 2x2 confusion of that label's presence (true and false positives and
negatives), rather than as one (C, C) matrix of single-label confusions.

`ClassificationInterpretation.from_learner` hands multi-label learners to this class, so the
call fastai users make works for both kinds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from lamina.data.loaders import target_labels
from lamina.vision.show import batch_of_items, grid_figure, show_sample

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from lamina.train.learner import Learner


def _check_thresh(thresh: float) -> float:
    if isinstance(thresh, bool) or not isinstance(thresh, (int, float)) or not 0 < thresh < 1:
        raise ValueError(f"thresh must be a probability in (0, 1), got {thresh!r}")
    return float(thresh)


class MultiLabelInterpretation:
    """Per-label confusion, per-label precision/recall/F1 and top losses of a multi-label model.

    Build it with `from_learner` (or `ClassificationInterpretation.from_learner`, which comes
    here for multi-label learners). Attributes: `preds` (N, L) probabilities, `targs` (N, L) 0/1
    targets, `losses` (N,) per item, `decoded` (N, L) booleans (`preds > thresh`), `thresh`,
    `vocab` (the L labels) and `dl`, the loader in data-set order (item i is `dl.dataset[i]`).

    Example:
        >>> interp = ClassificationInterpretation.from_learner(learn)  # multi-label learner
        >>> interp.confusion_table()
                tp  fp  fn  tn  support
        cat     12   1   3  24       15
        >>> print(interp.classification_report())
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
        thresh: float = 0.5,
    ) -> None:
        if preds.ndim != 2 or preds.shape != targs.shape:
            raise ValueError(
                "MultiLabelInterpretation needs probabilities (N, L) and 0/1 targets (N, L) of "
                f"the same shape, got {tuple(preds.shape)} and {tuple(targs.shape)}; for "
                "single-label targets (N,) use ClassificationInterpretation"
            )
        if preds.shape[1] != len(vocab):
            raise ValueError(f"the model gives {preds.shape[1]} labels but vocab has {len(vocab)}")
        self.dl, self.preds, self.targs, self.losses = dl, preds, targs.bool(), losses
        self.vocab, self.n_inp = list(vocab), n_inp
        self.thresh = _check_thresh(thresh)
        self.decoded = preds > self.thresh

    @classmethod
    def from_learner(
        cls, learn: Learner, ds_idx: int = 1, dl: Any = None, thresh: float | None = None
    ) -> MultiLabelInterpretation:
        """Predict on the validation set (`ds_idx=1`), the training set (0) or `dl`.

        `thresh` defaults to the loss's threshold (`BCEWithLogitsFlat(thresh=...)`), else 0.5.
        """
        from lamina.data.loaders import loader_at
        from lamina.vision.interpret import _ordered

        vocab = target_labels(learn.dls)
        if vocab is None:
            raise ValueError("the learner's data has no vocab: it is not a classification task")
        dl = _ordered(loader_at(learn.dls, ds_idx) if dl is None else dl)
        preds, targs, losses = learn.get_preds(dl=dl, with_loss=True)
        return cls.from_preds(learn, dl, preds, targs, losses, thresh)

    @classmethod
    def from_preds(
        cls,
        learn: Learner,
        dl: Any,
        preds: torch.Tensor,
        targs: torch.Tensor,
        losses: torch.Tensor,
        thresh: float | None = None,
    ) -> MultiLabelInterpretation:
        """Build from predictions already made on `dl` (in data-set order) by `learn`."""
        if thresh is None:
            thresh = getattr(learn.loss_func, "thresh", 0.5)
        return cls(dl, preds, targs, losses, target_labels(learn.dls), learn.dls.n_inp, thresh)

    # ----------------------------------------------------------------------------- confusion
    def confusion_matrix(self) -> np.ndarray:
        """(L, 2, 2) counts, one 2x2 per label in vocab order: `[[tn, fp], [fn, tp]]` (rows
        actual absent/present, columns predicted absent/present), scikit-learn's
        `multilabel_confusion_matrix` layout."""
        actual, predicted = self.targs, self.decoded
        tp = (actual & predicted).sum(0)
        fp = (~actual & predicted).sum(0)
        fn = (actual & ~predicted).sum(0)
        tn = (~actual & ~predicted).sum(0)
        return torch.stack([tn, fp, fn, tp], dim=1).reshape(-1, 2, 2).numpy()

    def confusion_table(self) -> pd.DataFrame:
        """One row per label: `tp`, `fp`, `fn`, `tn` and `support` (items having the label)."""
        import pandas as pd

        counts = self.confusion_matrix().reshape(-1, 4)  # tn, fp, fn, tp
        table = pd.DataFrame(
            {"tp": counts[:, 3], "fp": counts[:, 1], "fn": counts[:, 2], "tn": counts[:, 0]},
            index=[str(v) for v in self.vocab],
        )
        table["support"] = table["tp"] + table["fn"]
        return table

    def plot_confusion_matrix(
        self, normalize: bool = False, cmap: str = "Blues", ncols: int = 4, figsize: Any = None
    ) -> Figure:
        """One 2x2 heat map per label (rows actual, columns predicted: absent, present), with
        counts, or row fractions when `normalize`."""
        matrices = self.confusion_matrix().astype(float)
        if normalize:
            matrices = matrices / np.maximum(matrices.sum(axis=2, keepdims=True), 1)
        fig, axes = grid_figure(len(self.vocab), ncols, figsize)
        for ax, label, matrix in zip(axes, self.vocab, matrices, strict=False):
            ax.imshow(matrix, cmap=cmap, vmin=0, interpolation="nearest")
            ax.set(xticks=[0, 1], yticks=[0, 1], xlabel="predicted", ylabel="actual")
            ax.set_xticklabels(["absent", "present"])
            ax.set_yticklabels(["absent", "present"])
            ax.set_title(str(label))
            threshold = matrix.max() / 2
            for (row, col), value in np.ndenumerate(matrix):
                text = f"{value:.2f}" if normalize else f"{int(value)}"
                color = "white" if value > threshold else "black"
                ax.text(col, row, text, ha="center", va="center", color=color, fontsize=9)
        fig.suptitle(f"confusion per label (threshold {self.thresh:g})")
        fig.tight_layout()
        return fig

    # ----------------------------------------------------------------------------- scores
    def classification_report(self, digits: int = 2) -> str:
        """Precision, recall, F1 and support per label, with micro, macro, support-weighted and
        per-item ("samples") averages, in scikit-learn's layout (undefined scores are 0)."""
        from sklearn.metrics import classification_report

        return classification_report(
            self.targs.numpy().astype(int),
            self.decoded.numpy().astype(int),
            labels=list(range(len(self.vocab))),
            target_names=[str(v) for v in self.vocab],
            digits=digits,
            zero_division=0,
        )

    def print_classification_report(self, digits: int = 2) -> None:
        """Print `classification_report`."""
        print(self.classification_report(digits))

    # ----------------------------------------------------------------------------- items
    def top_losses(
        self, k: int | None = None, largest: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The `k` largest (or smallest) losses and their item indices (default: all, sorted)."""
        from lamina.vision.interpret import _top

        return _top(self.losses, k, largest)

    def label_sets(self, index: int) -> tuple[list[Any], list[Any]]:
        """The actual and the predicted labels of item `index`, in vocab order."""
        actual = [v for v, on in zip(self.vocab, self.targs[index].tolist(), strict=True) if on]
        predicted = [
            v for v, on in zip(self.vocab, self.decoded[index].tolist(), strict=True) if on
        ]
        return actual, predicted

    def top_losses_table(self, k: int | None = 9, largest: bool = True) -> pd.DataFrame:
        """The `k` items with the largest (or smallest) losses: `item` index, `loss`, `actual`
        and `predicted` label lists, and `wrong`, the labels predicted or missed by mistake."""
        import pandas as pd

        losses, indices = self.top_losses(k, largest)
        rows = []
        for loss, index in zip(losses.tolist(), indices.tolist(), strict=True):
            actual, predicted = self.label_sets(index)
            wrong = [v for v in self.vocab if (v in actual) != (v in predicted)]
            rows.append({"item": index, "loss": loss, "actual": actual, "predicted": predicted,
                         "wrong": wrong})  # fmt: skip
        return pd.DataFrame(rows, columns=["item", "loss", "actual", "predicted", "wrong"])

    def plot_top_losses(
        self,
        k: int = 9,
        largest: bool = True,
        ncols: int = 3,
        figsize: Any = None,
        nrows: int | None = None,
    ) -> Figure:
        """The `k` items with the largest losses, titled actual labels / predicted labels /
        loss. Only these `k` items are read again, through the pipeline."""
        kinds = tuple(getattr(self.dl, "kinds", ())[: self.n_inp])
        if "image" not in kinds:
            raise ValueError(
                f"plot_top_losses draws images; the inputs have kinds {kinds}: use "
                "top_losses_table instead"
            )
        losses, indices = self.top_losses(k, largest)
        batch = batch_of_items(self.dl, indices.tolist())
        inputs = list(zip(*self.dl.decode(batch)[: self.n_inp], strict=True))
        fig, axes = grid_figure(len(indices), ncols, figsize, nrows)
        for ax, sample, loss, index in zip(axes, inputs, losses, indices.tolist(), strict=False):
            show_sample(ax, sample, kinds)
            actual, predicted = self.label_sets(index)
            title = f"{';'.join(map(str, actual))} / {';'.join(map(str, predicted))}"
            ax.set_title(f"{title}\n{float(loss):.2f}", fontsize=9)
        fig.suptitle("actual / predicted\nloss")
        fig.tight_layout()
        return fig
