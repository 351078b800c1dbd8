"""`tabular_learner` and `TabularLearner`: training, prediction on rows, and safe export."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from lamina.core.modules import eval_mode
from lamina.core.registry import register
from lamina.models import build_model
from lamina.models.layers import emb_sz_rule
from lamina.tabular.loaders import TabularDataLoaders
from lamina.tabular.model import TabularModel
from lamina.tabular.numeric_encoding import quantile_bin_edges
from lamina.tabular.processor import TabularProcessor
from lamina.train.learner import Learner
from lamina.train.loss_check import default_loss_for
from lamina.train.metric_base import Metrics
from lamina.train.weights_check import build_checked

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_LAYERS = (200, 100)
DEFAULT_N_BINS = 64  # quantile bins per continuous column for the piecewise-linear encoding
MODEL_NAME = "tabular_mlp"  # the registered architecture


class TabularLearner(Learner):
    """A `Learner` over `TabularDataLoaders` that predicts on raw rows."""

    dls: TabularDataLoaders

    @torch.no_grad()
    def predict_inputs(
        self, x_cat: torch.Tensor, x_cont: torch.Tensor, raw: bool = False
    ) -> torch.Tensor:
        """Model outputs for encoded rows, in eval mode, on the CPU: probabilities for
        classification unless `raw`."""
        device = self.dls.device
        self.model.to(device)
        with eval_mode(self.model) as model:
            chunks = [model(x_cat[i : i + 4096].to(device), x_cont[i : i + 4096].to(device))
                      for i in range(0, len(x_cat), 4096)]  # fmt: skip
        out = torch.cat(chunks).float().cpu()
        if raw or self.dls.processor.y_block != "category":
            return out
        return torch.softmax(out, dim=-1)

    def predict(self, row: dict | pd.Series) -> tuple[Any, torch.Tensor, torch.Tensor]:
        """Predict one row given as a dict or a pandas Series of raw values.

        Missing values, absent input columns and categories unseen in training are allowed
        (filled, or mapped to the unseen slot). Returns, for classification,
        `(class label, class index, probabilities (n_classes,))`; for regression,
        `(value, or a list of values for several targets, values (n_targets,), the same)`.

        Example:
            >>> label, index, probs = learn.predict({"age": 39, "sex": "Male"})
        """
        processor = self.dls.processor
        x_cat, x_cont = processor.encode_inputs(processor.frame_from_row(row))
        out = self.predict_inputs(x_cat, x_cont)[0]
        if processor.y_block == "category":
            index = out.argmax()
            return processor.y_vocab[int(index)], index, out
        values = out.tolist()
        return (values[0] if len(values) == 1 else values), out, out


def _emb_szs(processor: TabularProcessor, emb_szs: dict[str, int] | None) -> list[list[int]]:
    emb_szs = dict(emb_szs or {})
    unknown = sorted(set(emb_szs) - set(processor.all_cat_names))
    if unknown:
        raise ValueError(
            f"emb_szs names columns that are not categorical inputs: {unknown}; "
            f"categorical inputs: {processor.all_cat_names}"
        )
    pairs = zip(processor.all_cat_names, processor.cardinalities, strict=True)
    return [[n, int(emb_szs.get(name, emb_sz_rule(n)))] for name, n in pairs]


def _training_bins(dls: TabularDataLoaders, n_bins: int | None) -> list[list[float]] | None:
    """Quantile bin edges of each continuous column, from the training rows only."""
    if not n_bins or not dls.processor.cont_names:
        return None
    x_cont = getattr(dls.train, "tensors", (None, None))[1]
    if x_cont is None or len(x_cont) == 0:
        raise ValueError("n_bins needs training rows to fit bins on; pass n_bins=None")
    return quantile_bin_edges(x_cont, n_bins)


def _start_at_mean(model: TabularModel, dls: TabularDataLoaders) -> None:
    """Set the output bias so that regression predictions start at the training targets' mean:
    far-from-zero targets (prices, grams) then need no long climb from 0."""
    y = getattr(dls.train, "tensors", (None,) * 3)[2]
    if y is None or not y.is_floating_point():
        return
    output = model.layers[-1]
    assert isinstance(output, nn.Linear), "a TabularModel ends with its output Linear"
    mean = y.float().mean(dim=0).to(output.bias.device)  # (n_out,)
    if model.y_range is not None:
        low, high = model.y_range
        mean = torch.logit(((mean - low) / (high - low)).clamp(1e-3, 1 - 1e-3))
    with torch.no_grad():
        output.bias.copy_(mean)


def tabular_learner(
    dls: TabularDataLoaders,
    layers: Sequence[int] | None = None,
    emb_szs: dict[str, int] | None = None,
    metrics: Metrics = None,
    y_range: tuple[float, float] | None = None,
    ps: float | Sequence[float] | None = None,
    embed_p: float = 0.0,
    n_bins: int | None = DEFAULT_N_BINS,
    **learner_kwargs: Any,
) -> TabularLearner:
    """A `TabularLearner` with a `TabularModel` sized for `dls`.

    The loss follows the target: cross-entropy over class indices for a category, mean squared
    error for one or several regression targets (pass `loss_func` to choose another).
    Regression outputs start at the training targets' mean (via the output layer's bias).

    Args:
        layers: hidden layer widths (default `[200, 100]`).
        emb_szs: embedding width per categorical column name, overriding `emb_sz_rule`.
        y_range: `(low, high)` for regression outputs (a sigmoid squashes them into it).
        ps: dropout per hidden layer (one number for all); `embed_p`: dropout on embeddings.
        n_bins: quantile bins per continuous column, fitted on the training rows, over which
            the numbers are also encoded piecewise-linearly (`PiecewiseLinearEncoding`); the
            edges are saved with the model's arguments. None or 0: standardized numbers only.
        learner_kwargs: passed to `Learner` (lr, wd, cbs, opt_func, loss_func, ...).

    Example:
        >>> dls = TabularDataLoaders.from_df(df, y_names="species", valid_pct=0.2, seed=0)
        >>> learn = tabular_learner(dls, metrics="accuracy")
        >>> learn.fit_one_cycle(5, 1e-2)
    """
    if not isinstance(dls, TabularDataLoaders):
        raise ValueError(f"dls must be TabularDataLoaders, got {type(dls).__name__}")
    processor = dls.processor
    if not processor.y_names:
        raise ValueError("the TabularDataLoaders have no target (y_names) to learn")
    if y_range is not None and processor.y_block == "category":
        raise ValueError(f"y_range is for regression targets, got y_range={y_range!r}")
    arch = {
        "emb_szs": _emb_szs(processor, emb_szs),
        "n_cont": len(processor.cont_names),
        "n_out": processor.n_out,
        "layers": list(DEFAULT_LAYERS if layers is None else layers),
        "ps": ps if ps is None or isinstance(ps, (int, float)) else list(ps),
        "embed_p": embed_p,
        "y_range": None if y_range is None else list(y_range),
        "cont_bins": _training_bins(dls, n_bins),
    }
    model = build_model(MODEL_NAME, **arch)
    if processor.y_block == "regression":
        assert isinstance(model, TabularModel), f"{MODEL_NAME!r} builds a TabularModel"
        _start_at_mean(model, dls)
    learner_kwargs.setdefault("loss_func", default_loss_for(dls))
    learn = TabularLearner(dls, model, metrics=metrics, **learner_kwargs)
    learn.export_spec = {"app": "tabular", "model_name": MODEL_NAME, "arch": arch,
                         "processor": processor.config()}  # fmt: skip
    return learn


@register("app", "tabular")
def build_tabular_learner(
    spec: dict[str, Any], model_tensors: dict[str, torch.Tensor], device: torch.device | None
) -> TabularLearner:
    """Rebuild an exported tabular learner (for `lamina.load_learner`): procs from JSON state,
    the model from its recorded arguments and the weights."""
    processor = TabularProcessor.from_config(spec["processor"])
    name, arch = spec.get("model_name", MODEL_NAME), spec["arch"]
    try:
        model = build_checked(lambda: build_model(name, **arch), model_tensors)
    except ValueError as error:
        raise ValueError(f"the exported weights do not fit the tabular model: {error}") from None
    dls = TabularDataLoaders((), None, processor, device)
    learn = TabularLearner(dls, model, loss_func=default_loss_for(dls), precision="float32")
    learn.export_spec = spec
    return learn
