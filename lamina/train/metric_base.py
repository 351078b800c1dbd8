"""Metrics computed over a whole validation set.

A `Metric` is reset before validation, updated with each batch's predictions and targets (kept
on the device, so no per-batch sync), and read once at the end. Plain functions
`metric(pred, targ) -> tensor` are wrapped in `AvgMetric`, a batch-size-weighted mean, which is
exact for per-sample metrics such as accuracy or MSE; metrics that are not means of per-sample
values (F1, AUC, RMSE, R2, ...) gather everything with `AccumMetric` and compute once.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any, cast

import torch

from lamina.core.registry import lookup, registered_names


class Metric:
    """Base class: override `reset`, `update` and `value`."""

    @property
    def name(self) -> str:
        return type(self).__name__.lower()

    def reset(self) -> None:
        """Forget everything accumulated."""

    def update(self, pred: Any, targ: Any) -> None:
        """Take one batch of predictions and targets."""

    @property
    def value(self) -> float:
        """The metric over everything seen since `reset`."""
        raise NotImplementedError


def _name_of(func: Callable) -> str:
    name: str = getattr(func, "__name__", type(func).__name__)
    return name


class AvgMetric(Metric):
    """The batch-size-weighted mean of `func(pred, targ)` over all batches."""

    def __init__(self, func: Callable[[Any, Any], torch.Tensor], name: str | None = None) -> None:
        self.func = func
        self._name = name or _name_of(func)
        self.reset()

    @property
    def name(self) -> str:
        return self._name

    def reset(self) -> None:
        self.total: torch.Tensor | float = 0.0
        self.count = 0

    def update(self, pred: Any, targ: Any) -> None:
        n = len(targ) if hasattr(targ, "__len__") else 1
        self.total = self.total + self.func(pred, targ).detach() * n
        self.count += n

    @property
    def value(self) -> float:
        if self.count == 0:
            return float("nan")
        return float(self.total / self.count)


class AccumMetric(Metric):
    """Gather all predictions and targets, then compute `func(preds, targs)` once.

    Args:
        func: called on the concatenated predictions and targets (torch tensors on the CPU, or
            NumPy arrays when `to_numpy`).
        activation: applied to predictions before gathering (e.g. softmax for AUC).
        to_numpy: hand NumPy arrays to `func` (for scikit-learn functions).
    """

    def __init__(
        self,
        func: Callable[[Any, Any], Any],
        name: str | None = None,
        activation: Callable[[torch.Tensor], torch.Tensor] | None = None,
        to_numpy: bool = False,
        **kwargs: Any,
    ) -> None:
        self.func, self.activation, self.to_numpy, self.kwargs = func, activation, to_numpy, kwargs
        self._name = name or _name_of(func)
        self.reset()

    @property
    def name(self) -> str:
        return self._name

    def reset(self) -> None:
        self.preds: list[torch.Tensor] = []
        self.targs: list[torch.Tensor] = []

    def update(self, pred: Any, targ: Any) -> None:
        pred = pred.detach()
        if self.activation is not None:
            pred = self.activation(pred)
        self.preds.append(pred)
        self.targs.append(targ.detach())

    @property
    def value(self) -> float:
        if not self.preds:
            return float("nan")
        preds, targs = torch.cat(self.preds).cpu(), torch.cat(self.targs).cpu()
        if self.to_numpy:
            return float(self.func(preds.float().numpy(), targs.numpy(), **self.kwargs))
        return float(self.func(preds, targs, **self.kwargs))


# What a learner accepts as a metric: a `Metric`, a `Metric` class, a registered name, or a
# function `metric(pred, targ)`; `Metrics` adds lists of them and None.
MetricLike = Metric | type[Metric] | str | Callable[..., Any]
Metrics = MetricLike | Sequence[MetricLike] | None


def as_metric(metric: MetricLike) -> Metric:
    """Turn what a user passed as a metric into a fresh `Metric`.

    Accepts a `Metric` instance (copied, so learners never share state), a `Metric` subclass, a
    registered metric name, or a function `metric(pred, targ)`.
    """
    if isinstance(metric, str):
        import lamina.train.metrics  # noqa: F401  (registers the metric names)

        try:
            metric = lookup("metric", metric)
        except KeyError:
            known = ", ".join(registered_names("metric"))
            raise ValueError(f"unknown metric {metric!r}; known metrics: {known}") from None
    if isinstance(metric, Metric):
        return copy.deepcopy(metric)
    if isinstance(metric, type) and issubclass(metric, Metric):
        return metric()
    if callable(metric):
        # Any other callable, a class included, is taken as `metric(pred, targ)`.
        return AvgMetric(cast(Callable[[Any, Any], torch.Tensor], metric))
    raise ValueError(
        f"metric {metric!r} is not a Metric, a Metric class, a metric name or a function"
    )
