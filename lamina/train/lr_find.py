"""The learning-rate finder: a short sweep of exponentially growing learning rates, the loss at
each, and suggested rates read off the curve. The learner is left exactly as it was found."""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator, Sized
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import torch

from lamina.core.seed import get_rng_state, set_rng_state
from lamina.optim.hyper import set_hyper
from lamina.train.callback import Callback, CancelEpoch, CancelFit
from lamina.train.callbacks.progress import ProgressCallback

if TYPE_CHECKING:
    from lamina.train.learner import Learner

SMOOTHING = 0.98  # weight of the past in the loss's exponential moving average


class SuggestedLRs(NamedTuple):
    """Learning rates suggested by `Learner.lr_find` (each within the swept range).

    - `valley`: in the longest stretch over which the smoothed loss keeps falling, the rate at
      which the loss has made half of that stretch's fall. The stretch ignores noise that a
      single steepest point is sensitive to, and its midpoint (by loss) sits below the rates
      where the loss flattens out and then diverges. Usually the one to use.
    - `steepest`: the rate at which the smoothed loss falls fastest against `log(lr)`, slopes
      being measured across 5% of the sweep on either side of each point.
    - `minimum`: a tenth of the rate at the smoothed loss's minimum (at least the start rate).

    `learn.lr_find()` returns an `LRFindResult`, which unpacks as these three.
    """

    valley: float
    steepest: float
    minimum: float


class LRFindResult(SuggestedLRs):
    """`SuggestedLRs` that also carry the sweep: `lrs`, `losses` (per batch, raw),
    `smooth_losses` (the curve the suggestions are read from), and `figure` (the plot, when
    one was asked for)."""

    lrs: list[float]
    losses: list[float]
    smooth_losses: list[float]
    figure: Any

    def plot(self) -> Any:
        """Plot loss against learning rate with the suggestions marked; returns the figure."""
        return plot_lr_find(self)


class LRFinder(Callback):
    """Sets the LR of each training batch along an exponential sweep from `start_lr` to `end_lr`
    over `num_it` batches, records it with the batch's loss, and stops the fit after `num_it`
    batches, or when the smoothed loss passes 4 times its minimum (`stop_div`), or when the loss
    is not finite. Validation is skipped.

    It reads each loss from the device: the sweep needs it to decide when to stop.
    """

    order = -20  # before TerminateOnNaN: a diverging sweep ends the sweep, not the program
    run_valid = False

    def __init__(
        self, start_lr: float = 1e-7, end_lr: float = 10, num_it: int = 100, stop_div: bool = True
    ) -> None:
        if not (0 < start_lr < end_lr):
            raise ValueError(
                f"start_lr and end_lr must satisfy 0 < start_lr < end_lr, got {start_lr!r}, "
                f"{end_lr!r}"
            )
        if not (isinstance(num_it, int) and num_it >= 2):
            raise ValueError(f"num_it must be an integer of at least 2, got {num_it!r}")
        self.start_lr, self.end_lr, self.num_it, self.stop_div = start_lr, end_lr, num_it, stop_div
        self.lrs: list[float] = []
        self.losses: list[float] = []
        self.smooth_losses: list[float] = []

    def lr_at(self, index: int) -> float:
        """The LR of batch `index` of the sweep."""
        return self.start_lr * (self.end_lr / self.start_lr) ** (index / (self.num_it - 1))

    def before_fit(self) -> None:
        self.lrs, self.losses, self.smooth_losses = [], [], []
        self._average, self._best, self._diverged = 0.0, math.inf, False

    def before_batch(self) -> None:
        assert self.learn.opt is not None  # fit builds the optimizer before any event
        set_hyper(self.learn.opt, "lr", self.lr_at(len(self.lrs)))

    def after_loss(self) -> None:
        assert self.learn.loss is not None, "after_loss runs once the loss exists"
        loss = float(self.learn.loss)
        if not math.isfinite(loss):
            raise CancelFit
        lr = self.lr_at(len(self.lrs))
        self._average = SMOOTHING * self._average + (1 - SMOOTHING) * loss
        smooth = self._average / (1 - SMOOTHING ** (len(self.lrs) + 1))
        self.lrs.append(lr)
        self.losses.append(loss)
        self.smooth_losses.append(smooth)
        self._best = min(self._best, smooth)
        self._diverged = self.stop_div and smooth > 4 * self._best

    def after_batch(self) -> None:
        if self._diverged or len(self.lrs) >= self.num_it:
            raise CancelFit

    def before_validate(self) -> None:
        raise CancelEpoch


def suggest_lrs(lrs: list[float], smooth_losses: list[float]) -> SuggestedLRs:
    """Read `SuggestedLRs` off a smoothed loss curve (see `SuggestedLRs` for the rules)."""
    if len(lrs) < 2:
        raise ValueError(f"the sweep recorded {len(lrs)} point(s); at least 2 are needed")
    lr, loss = np.asarray(lrs, dtype=float), np.asarray(smooth_losses, dtype=float)
    lowest = int(np.argmin(loss))
    minimum = max(lr[lowest] / 10, lr[0])
    steepest = lr[_steepest_index(np.log(lr), loss)]
    start, end = _longest_descent(loss)
    if end == start:
        return SuggestedLRs(float(lr[lowest]), float(steepest), float(minimum))
    halfway = loss[start] - (loss[start] - loss[end]) / 2
    valley = lr[start + int(np.argmax(loss[start : end + 1] <= halfway))]
    return SuggestedLRs(float(valley), float(steepest), float(minimum))


def _steepest_index(log_lr: np.ndarray, loss: np.ndarray) -> int:
    """Index of the most negative slope, each slope taken across a span of 5% of the sweep on
    either side, so that one noisy step cannot win."""
    span = max(1, len(loss) // 20)
    if len(loss) <= 2 * span:
        return int(np.argmin(np.gradient(loss, log_lr)))
    slopes = (loss[2 * span :] - loss[: -2 * span]) / (log_lr[2 * span :] - log_lr[: -2 * span])
    return span + int(np.argmin(slopes))


def _longest_descent(loss: np.ndarray) -> tuple[int, int]:
    """First and last index of the longest run over which `loss` never rises."""
    best, start = (0, 0), 0
    for index in range(1, len(loss)):
        if loss[index] > loss[index - 1]:
            start = index
        elif index - start > best[1] - best[0]:
            best = (start, index)
    return best


def plot_lr_find(result: LRFindResult, skip_end: int = 3) -> Any:
    """Loss against learning rate (log scale) with the suggestions marked; returns the figure.

    The y-axis spans the useful part of the curve (`useful_loss_range`), from a little below
    the smoothed loss's minimum to a little above where it started: the divergence at the end
    of the sweep, often orders of magnitude higher, is cut off rather than flattening the rest.
    """
    from lamina.core.figures import new_figure

    fig = new_figure()
    ax = fig.subplots()
    end = max(len(result.lrs) - skip_end, 2)
    ax.plot(result.lrs[:end], result.losses[:end], alpha=0.3, label="loss")
    ax.plot(result.lrs[:end], result.smooth_losses[:end], label="smoothed loss")
    markers = {"valley": "o", "steepest": "^", "minimum": "s"}
    for name, marker in markers.items():
        lr = getattr(result, name)
        index = int(np.argmin(np.abs(np.log(result.lrs) - math.log(lr))))
        ax.plot([lr], [result.smooth_losses[index]], marker, markersize=8, zorder=3,
                label=f"{name}: {lr:.2e}")  # fmt: skip
    ax.set_ylim(*useful_loss_range(result.smooth_losses[:end]))
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("loss")
    ax.legend()
    return fig


def useful_loss_range(smooth_losses: list[float], margin: float = 0.1) -> tuple[float, float]:
    """Y-limits for an lr_find plot: from the smoothed loss's minimum to its highest value
    before that minimum, widened by `margin` of that span on either side. The first tenth of
    the sweep does not count towards the top (its average is over a few batches only, so
    noisy), nor does what comes after the minimum: the divergence may leave the plot."""
    loss = np.asarray(smooth_losses, dtype=float)
    loss = loss[np.isfinite(loss)]
    if loss.size == 0:
        return 0.0, 1.0
    lowest = int(np.argmin(loss))
    settled = min(len(loss) // 10, lowest)
    bottom, top = float(loss[lowest]), float(loss[settled : lowest + 1].max())
    pad = margin * (top - bottom) if top > bottom else margin * max(abs(bottom), 1.0)
    return bottom - pad, top + pad


class _Snapshot:
    """Deep copies of everything the sweep changes, to put back afterwards."""

    counters = ("epoch", "n_epoch", "iter", "n_iter", "train_iter", "pct_train", "epochs_done",
                "start_epoch", "training", "batches_done", "start_batch")  # fmt: skip

    def __init__(self, learn: Learner) -> None:
        self.opt, self.module = learn.opt, learn.model
        self.weights = copy.deepcopy(learn.model.state_dict())
        self.modes = [(module, module.training) for module in learn.model.modules()]
        self.opt_state = None if learn.opt is None else copy.deepcopy(learn.opt.state_dict())
        self.values = {name: getattr(learn, name) for name in self.counters if hasattr(learn, name)}
        self.cbs = [(cb, copy.deepcopy(cb.state_dict())) for cb in learn.cbs]
        self.rng = get_rng_state()
        self.generators = [
            (generator, generator.get_state())
            for dl in (learn.dls.train, learn.dls.valid)  # the contract has no `loaders`
            if isinstance(generator := getattr(dl, "generator", None), torch.Generator)
        ]

    def restore(self, learn: Learner) -> None:
        # into the module itself: `learn.model` may since have been wrapped by torch.compile
        with torch.no_grad():
            self.module.load_state_dict(self.weights)
        for module, training in self.modes:
            module.training = training
        if self.opt is not None and self.opt_state is not None:
            self.opt.load_state_dict(self.opt_state)  # the optimizer the sweep ran with
        learn.opt = self.opt
        for name, value in self.values.items():
            setattr(learn, name, value)
        for cb, state in self.cbs:
            cb.load_state_dict(state)
        set_rng_state(*self.rng)
        for generator, generator_state in self.generators:
            generator.set_state(generator_state)


@contextmanager
def _tables_hidden(learn: Learner) -> Iterator[None]:
    """Within: every `ProgressCallback` of `learn` shows its bar but no epoch rows."""
    with ExitStack() as stack:
        for cb in learn.cbs:
            if isinstance(cb, ProgressCallback):
                stack.enter_context(cb.table_hidden())
        yield


def run_lr_find(
    learn: Learner,
    start_lr: float = 1e-7,
    end_lr: float = 10,
    num_it: int = 100,
    stop_div: bool = True,
    show_plot: bool = True,
) -> LRFindResult:
    """Sweep the LR from `start_lr` to `end_lr` over `num_it` training batches (as many epochs as
    that takes, without validation), then put back the model's weights, the optimizer (the same
    object, its state and hyper-parameters), the callbacks' state (the recorder's history), the
    learner's counters and the random number generators, so training continues exactly as if
    the sweep had not happened.

    Returns an `LRFindResult`: `valley, steepest, minimum = learn.lr_find()`, with the sweep in
    `.lrs`, `.losses`, `.smooth_losses` and, when `show_plot`, the plot in `.figure`.
    """
    finder = LRFinder(start_lr, end_lr, num_it, stop_div)
    snapshot = _Snapshot(learn)
    train = learn.dls.train
    n_batches = len(train) if isinstance(train, Sized) else 1
    n_epoch = math.ceil(num_it / max(n_batches, 1))
    try:
        with _tables_hidden(learn):  # its epochs' rows (no validation, a moving lr) mean nothing
            learn.fit(n_epoch, cbs=[finder])
    finally:
        snapshot.restore(learn)
    result = LRFindResult(*suggest_lrs(finder.lrs, finder.smooth_losses))
    result.lrs, result.losses = finder.lrs, finder.losses
    result.smooth_losses, result.figure = finder.smooth_losses, None
    if show_plot:
        result.figure = plot_lr_find(result)
    return result
