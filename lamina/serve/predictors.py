"""Predictors: one loaded learner behind one call, `predict_many(items) -> records`.

A record is a JSON-able dict with `label`, `index` and `probs` (class probabilities in the
order of `labels`) for a classifier; for a regression, `label` is the predicted value and
`index` and `probs` are None. The server and `lamina predict` both go through these, so they
give the same answers. How each application batches:

- vision: `VisionLearner.predict_batch` (one forward pass for the whole batch);
- tabular: the rows are encoded together by the fitted processor, one forward pass;
- collab: `CollabLearner.predict` on all (user, item) pairs at once;
- text: one `predict` per document (a batch would pad documents together, which the
  classifier's pooling is not guaranteed to ignore, so answers could differ from `predict`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from lamina.data.loaders import target_labels

INPUT_KINDS = ("image", "row", "pair", "text")


def _classification(label: Any, index: Any, probs: torch.Tensor) -> dict[str, Any]:
    return {"label": _plain(label), "index": int(index), "probs": probs.float().tolist()}


def _regression(value: Any) -> dict[str, Any]:
    return {"label": _plain(value), "index": None, "probs": None}


def _plain(value: Any) -> Any:
    """A label or value as JSON: tensors and NumPy scalars become lists and numbers."""
    if isinstance(value, torch.Tensor):
        return value.tolist()
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


class Predictor:
    """Base class: `labels` (class names, or None for a regression) and `predict_many`."""

    input_kind: str = ""
    labels: list[Any] | None = None

    def __init__(self, learn: Any) -> None:
        self.learn = learn

    def predict_many(self, items: Sequence[Any]) -> list[dict[str, Any]]:
        """One record per item, in order; raises ValueError for input the model cannot take."""
        raise NotImplementedError


class ImagePredictor(Predictor):
    """Images as paths, PIL images or arrays, through `VisionLearner.predict_batch`."""

    input_kind = "image"

    def __init__(self, learn: Any) -> None:
        super().__init__(learn)
        vocab = target_labels(learn.dls)
        self.labels = None if vocab is None else [_plain(v) for v in vocab]

    def predict_many(self, items: Sequence[Any]) -> list[dict[str, Any]]:
        decoded, values, probs = self.learn.predict_batch(list(items), bs=max(len(items), 1))
        if self.labels is not None and values.ndim == 1 and probs.ndim == 2:
            return [_classification(*parts) for parts in zip(decoded, values, probs, strict=True)]
        return [_regression(label) for label in decoded]


class RowPredictor(Predictor):
    """Table rows as dicts of raw values, encoded together by the fitted processor."""

    input_kind = "row"

    def __init__(self, learn: Any) -> None:
        super().__init__(learn)
        processor = learn.dls.processor
        self.category = processor.y_block == "category"
        self.labels = [_plain(v) for v in processor.y_vocab] if self.category else None
        self.columns = {"cat": list(processor.cat_names), "cont": list(processor.cont_names)}

    def predict_many(self, items: Sequence[Any]) -> list[dict[str, Any]]:
        import pandas as pd

        processor = self.learn.dls.processor
        frame = pd.concat([processor.frame_from_row(row) for row in items], ignore_index=True)
        x_cat, x_cont = processor.encode_inputs(frame)
        out = self.learn.predict_inputs(x_cat, x_cont)  # (N, classes) probs, or (N, targets)
        if self.labels is not None:
            labels, indices = self.labels, out.argmax(dim=1).tolist()
            return [_classification(labels[i], i, p) for i, p in zip(indices, out, strict=True)]
        return [_regression(v[0] if len(v) == 1 else v) for v in out.tolist()]


class PairPredictor(Predictor):
    """(user, item) pairs, named as in the ratings; values are matched by their text too, so
    "196" finds the user 196 (web forms and CSV columns send text)."""

    input_kind = "pair"

    def __init__(self, learn: Any) -> None:
        super().__init__(learn)
        vocab = learn.dls.vocab
        self._users = {str(v): v for v in vocab.users.to_list()}
        self._items = {str(v): v for v in vocab.items.to_list()}

    def _match(self, kind: str, value: Any) -> Any:
        known = self._users if kind == "user" else self._items
        if str(value) not in known:
            raise ValueError(f"unknown {kind} {value!r}: the model only knows {len(known)} {kind}s")
        return known[str(value)]

    def predict_many(self, items: Sequence[Any]) -> list[dict[str, Any]]:
        users = [self._match("user", user) for user, _ in items]
        things = [self._match("item", item) for _, item in items]
        return [_regression(v) for v in self.learn.predict(users, things).tolist()]


class TextPredictor(Predictor):
    """Documents as strings, one `predict` each (see the module docstring)."""

    input_kind = "text"

    def __init__(self, learn: Any) -> None:
        super().__init__(learn)
        self.is_lm = bool(getattr(learn, "is_lm", False))
        vocab = None if self.is_lm else target_labels(learn.dls)
        self.labels = None if vocab is None else [_plain(v) for v in vocab]

    def predict_many(self, items: Sequence[Any]) -> list[dict[str, Any]]:
        if self.is_lm:
            return [_regression(self.learn.predict(text)) for text in items]
        return [_classification(*self.learn.predict(text)) for text in items]


_PREDICTORS = {"vision": ImagePredictor, "tabular": RowPredictor, "collab": PairPredictor,
               "text": TextPredictor}  # fmt: skip


def predictor_for(learn: Any) -> Predictor:
    """The predictor for a loaded learner, chosen by the application its export names."""
    app = (getattr(learn, "export_spec", None) or {}).get("app")
    if app == "vision":
        kinds = getattr(learn.dls, "kinds", ("image",))
        if kinds[0] != "image":
            raise ValueError(f"this vision model takes {kinds[0]!r} inputs, not images")
    if app not in _PREDICTORS:
        raise ValueError(
            f"cannot predict with a {app!r} export from the command line or the server; "
            f"supported applications: {', '.join(_PREDICTORS)}"
        )
    return _PREDICTORS[app](learn)


def top_k(record: dict[str, Any], labels: Sequence[Any] | None, k: int) -> list[list[Any]]:
    """The `k` most probable `[label, probability]` pairs of a classification record."""
    probs = record.get("probs")
    if not probs or labels is None or k < 1:
        return []
    order = sorted(range(len(probs)), key=lambda i: -probs[i])[:k]
    return [[labels[i], probs[i]] for i in order]
