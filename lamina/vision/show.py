"""`show_results`: validation items with their targets and the model's predictions, in a grid.

Items are fetched by index from the loader's data set and run through its item and batch
pipelines (`batch_of_items`), so only the items shown are ever held. Categories get
"actual / predicted" titles, green when right and red when wrong; masks are drawn as image,
target and prediction side by side; points and boxes are drawn green (target) and red
(prediction).
matplotlib is imported inside the functions, and figures are built without pyplot's global
state: a figure shows once in Jupyter and `fig.savefig("results.png")` saves it from a script.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch

from lamina.core.device import to_device
from lamina.core.modules import eval_mode
from lamina.data.loaders import loader_at
from lamina.data.show import grid_shape, sample_indices
from lamina.train.loss_check import default_loss_for
from lamina.vision.data.show import show_sample

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from lamina.train.learner import Learner

RIGHT, WRONG = "green", "red"


def batch_of_items(dl: Any, indices: Sequence[int]) -> tuple[torch.Tensor, ...]:
    """The items at `indices` of `dl.dataset`, collated and batch-transformed as `dl` does."""
    if not len(indices):
        raise ValueError("indices is empty: there is nothing to fetch")
    samples = [dl.dataset[int(index)] for index in indices]
    # The loader's own collation: blocks such as boxes pad their elements.
    collate = getattr(dl, "collate", torch.utils.data.default_collate)
    batch = to_device(tuple(collate(samples)), dl.device)
    return dl.batch_tfms(batch, dl.kinds, dl.split_idx)


def predict_batch(learn: Learner, batch: Sequence[torch.Tensor]) -> tuple[torch.Tensor, Any]:
    """The model's raw outputs on `batch`'s inputs, and its decoded predictions for the first
    target: class indices, 0/1 labels or values shaped like the target (eval mode, no grad)."""
    n_inp = learn.dls.n_inp
    device = next(learn.model.parameters()).device
    with eval_mode(learn.model) as model, torch.no_grad():
        raw = model(*(x.to(device) for x in batch[:n_inp]))
    target = batch[n_inp] if len(batch) > n_inp else None
    loss_func = learn.loss_func if learn.loss_func is not None else default_loss_for(learn.dls)
    decodes = getattr(loss_func, "decodes", None)
    if decodes is not None:
        decoded = decodes(raw)
    elif target is not None and not target.is_floating_point():
        decoded = raw.argmax(dim=1)  # (B, C) or (B, C, H, W) class scores
    else:
        decoded = raw
    if decoded.dtype == torch.bool:
        decoded = decoded.float()
    if target is not None:
        decoded = decoded.to(target.device)
        if decoded.shape != target.shape and decoded.numel() == target.numel():
            decoded = decoded.reshape(target.shape)  # e.g. (B, 2N) outputs -> (B, N, 2) points
    return raw, decoded


def grid_figure(
    n_panels: int,
    ncols: int,
    figsize: tuple[float, float] | None = None,
    nrows: int | None = None,
) -> tuple[Figure, list]:
    """A figure with `n_panels` axes in rows of `ncols` (or in `nrows` rows; spare axes
    hidden), and those axes. The figure shows once in Jupyter (`lamina.core.figures`)."""
    from lamina.core.figures import new_figure

    nrows, ncols = grid_shape(max(n_panels, 1), ncols, nrows)
    fig = new_figure(figsize=figsize or (3 * ncols, 3 * nrows))
    axes = list(fig.subplots(nrows, ncols, squeeze=False).flat)
    for ax in axes[n_panels:]:
        ax.axis("off")
    return fig, axes


def _same(actual: Any, predicted: Any) -> bool:
    if isinstance(actual, list) and isinstance(predicted, list):
        return sorted(map(str, actual)) == sorted(map(str, predicted))
    return actual == predicted


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ";".join(str(v) for v in value) or "(none)"
    if isinstance(value, torch.Tensor):
        values = value.detach().cpu().flatten().tolist()
        return ", ".join(f"{v:.3g}" for v in values[:4]) + (", ..." if len(values) > 4 else "")
    return str(value)


def _image_size(image: torch.Tensor) -> tuple[int, int]:
    return image.shape[-1], image.shape[-2]


def _scatter_points(ax: Axes, points: torch.Tensor, image: torch.Tensor, color: str) -> None:
    width, height = _image_size(image)
    # [-1, 1] relative coordinates back to pixels for display.
    pixels = (points.detach().cpu().float() + 1) / 2 * torch.tensor([width, height])
    ax.scatter(pixels[:, 0], pixels[:, 1], s=14, c=color, marker="o")


def _show_labels(axes: list, images: list, actual: list, predicted: list, kind: str) -> None:
    for ax, image, targ, pred in zip(axes, images, actual, predicted, strict=False):
        show_sample(ax, (image,), ("image",))
        color = "black" if kind == "regression" else (RIGHT if _same(targ, pred) else WRONG)
        ax.set_title(f"{_text(targ)} / {_text(pred)}", color=color, fontsize=9)


def _show_points(axes: list, images: list, actual: list, predicted: list) -> None:
    for ax, image, targ, pred in zip(axes, images, actual, predicted, strict=False):
        show_sample(ax, (image,), ("image",))
        _scatter_points(ax, targ, image, RIGHT)
        _scatter_points(ax, pred, image, WRONG)


def predict_boxes(learn: Learner, batch: Sequence[torch.Tensor]) -> tuple[torch.Tensor, ...]:
    """A detection model's boxes and labels on `batch`'s inputs (eval mode, no grad).

    The model is expected to return `(boxes, scores)`: boxes `(B, M, 4)` as (x0, y0, x1, y1) in
    [-1, 1] (the batch's coordinates) and class scores `(B, M, n_classes)`, class 0 being the
    background ("#na#"); the labels are the best-scoring classes. Anything else raises a
    `ValueError` saying what was expected.
    """
    n_inp = learn.dls.n_inp
    device = next(learn.model.parameters()).device
    with eval_mode(learn.model) as model, torch.no_grad():
        raw = model(*(x.to(device) for x in batch[:n_inp]))
    shapes = [tuple(x.shape) for x in raw] if isinstance(raw, (tuple, list)) else None
    valid = shapes is not None and len(shapes) == 2 and len(shapes[0]) == 3
    if not valid or shapes[0][-1] != 4 or shapes[1][:2] != shapes[0][:2]:  # type: ignore[index]
        got = shapes if shapes is not None else type(raw).__name__
        raise ValueError(
            "show_results with box targets needs a model returning (boxes (B, M, 4), class "
            f"scores (B, M, n_classes)), got {got}"
        )
    boxes, scores = raw
    return boxes.detach().float().cpu(), scores.argmax(dim=-1).cpu()


def _show_boxes(axes: list, images: list, actual: tuple, predicted: tuple) -> None:
    """Target boxes in green and predicted ones in red, each with its label."""
    from lamina.vision.data.show import draw_boxes

    for index, (ax, image) in enumerate(zip(axes, images, strict=False)):
        show_sample(ax, (image,), ("image",))
        size = _image_size(image)
        for (boxes, labels), color in ((actual, RIGHT), (predicted, WRONG)):
            draw_boxes(ax, boxes[index], size, labels=labels[index], color=color)


def show_mask_rows(
    images: Sequence[torch.Tensor],
    targets: Sequence[torch.Tensor],
    predictions: Sequence[torch.Tensor],
    titles: Sequence[str] | None = None,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """One row per item: the image, its target mask and the predicted mask (over the image).

    Args:
        images: decoded images (C, H, W); `targets`, `predictions`: masks (H, W) of class indices.
        titles: one extra line per item, shown above its image.
    """
    n = len(images)
    fig, axes = grid_figure(3 * n, 3, figsize)
    for row in range(n):
        image = images[row]
        show_sample(axes[3 * row], (image,), ("image",))
        show_sample(axes[3 * row + 1], (image, targets[row]), ("image", "mask"))
        show_sample(axes[3 * row + 2], (image, predictions[row]), ("image", "mask"))
        axes[3 * row].set_title(titles[row] if titles else "image", fontsize=9)
        axes[3 * row + 1].set_title("target", fontsize=9)
        axes[3 * row + 2].set_title("prediction", fontsize=9)
    fig.tight_layout()
    return fig


def show_results(
    learn: Learner,
    max_n: int = 9,
    ds_idx: int = 1,
    ncols: int = 3,
    dl: Any = None,
    figsize: tuple[float, float] | None = None,
    shuffle: bool = True,
    seed: int = 0,
    nrows: int | None = None,
) -> Figure:
    """`max_n` items of the validation set (or `dl`) with target and prediction.

    The items are drawn across the set with `seed` (the same seed, the same items), or with
    `shuffle=False` are its first items in stored order. Titles read "actual / predicted",
    green when right and red when wrong (categories); masks show image, target and prediction
    side by side; points are green (target) and red (prediction). `ncols`/`nrows` and
    `figsize` set the grid. Returns the matplotlib figure (shown once in Jupyter).

    Example:
        >>> fig = show_results(learn, max_n=6)
        >>> fig.savefig("results.png")
    """
    if not (isinstance(max_n, int) and max_n >= 1):
        raise ValueError(f"max_n must be a positive integer, got {max_n!r}")
    dl = loader_at(learn.dls, ds_idx) if dl is None else dl
    if not hasattr(dl, "dataset") or "image" not in getattr(dl, "kinds", ()):
        raise ValueError("show_results draws images: it needs a lamina loader with an image input")
    n_inp = learn.dls.n_inp
    if len(dl.kinds) <= n_inp:
        raise ValueError("show_results needs labelled items (a target after the inputs)")
    batch = batch_of_items(dl, sample_indices(len(dl.dataset), max_n, shuffle, seed))
    if dl.kinds[n_inp] == "bbox":
        return _show_box_results(learn, dl, batch, ncols, figsize, nrows)
    _, decoded = predict_batch(learn, batch)
    actual = dl.decode(batch)
    predicted = dl.decode((*batch[:n_inp], decoded, *batch[n_inp + 1 :]))
    images, kind = actual[0], dl.kinds[n_inp]
    if kind == "mask":
        return show_mask_rows(images, actual[n_inp], predicted[n_inp], figsize=figsize)
    fig, axes = grid_figure(len(images), ncols, figsize, nrows)
    if kind == "points":
        _show_points(axes, images, actual[n_inp], predicted[n_inp])
    else:
        _show_labels(axes, images, actual[n_inp], predicted[n_inp], kind)
    fig.suptitle("green: target, red: prediction" if kind == "points" else "actual / predicted")
    fig.tight_layout()
    return fig


def _show_box_results(
    learn: Learner,
    dl: Any,
    batch: tuple,
    ncols: int,
    figsize: tuple[float, float] | None,
    nrows: int | None = None,
) -> Figure:
    n_inp = learn.dls.n_inp
    if len(dl.kinds) < n_inp + 2 or dl.kinds[n_inp + 1] != "bbox_label":
        raise ValueError("show_results draws boxes with their labels: the box target must be "
                         "followed by a BBoxLblBlock")  # fmt: skip
    boxes, labels = predict_boxes(learn, batch)
    actual = dl.decode(batch)
    predicted = dl.decode((*batch[:n_inp], boxes, labels, *batch[n_inp + 2 :]))
    images = actual[0]
    fig, axes = grid_figure(len(images), ncols, figsize, nrows)
    _show_boxes(
        axes,
        images,
        (actual[n_inp], actual[n_inp + 1]),
        (predicted[n_inp], predicted[n_inp + 1]),
    )
    fig.suptitle("green: target, red: prediction")
    fig.tight_layout()
    return fig
