"""`ShowGraph`: the training and validation losses drawn in the notebook after every epoch."""

from __future__ import annotations

import base64
import io
import math
from typing import Any

from lamina.core import notebook
from lamina.core.ranks import is_main_process
from lamina.train.callback import Callback


class ShowGraph(Callback):
    """After each epoch, redraws one graph of the training loss per batch and the validation
    loss at the end of each epoch, the x-axis spanning the whole fit so the curves grow into it.
    In a notebook the graph is one PNG output replaced in place. Elsewhere (a terminal, a log)
    it draws nothing and costs nothing: call `learn.recorder.plot_loss()` after the fit.
    Under DDP only rank 0 draws.

    Example:
        >>> learn.fit_one_cycle(5, 1e-3, cbs=ShowGraph())  # doctest: +SKIP
    """

    order = 65  # after the Recorder has the epoch's row and the progress table has shown it

    def __init__(self, figsize: tuple[float, float] = (6, 4)) -> None:
        self.figsize = figsize
        self._output: notebook.LiveOutput | None = None
        self._active = False

    def before_fit(self) -> None:
        self._active = is_main_process() and notebook.in_notebook()
        self._output = None

    def after_epoch(self) -> None:
        if not self._active:
            return
        bundle = {"image/png": _png(self.draw()), "text/plain": "<loss graph>"}
        if self._output is None:
            self._output = notebook.show(bundle)
        else:
            self._output.update(bundle)

    def draw(self) -> Any:
        """The graph of the losses so far, as a matplotlib `Figure` (not managed by pyplot, so
        the notebook's inline backend does not show it a second time)."""
        from matplotlib.figure import Figure

        recorder = self.learn.recorder
        losses = recorder.losses
        epochs = len(recorder.history)
        batches_per_epoch = len(losses) / epochs if epochs else 1.0
        figure = Figure(figsize=self.figsize)
        ax = figure.add_subplot()
        ax.plot(range(len(losses)), losses, label="train")
        ends = [batches_per_epoch * (i + 1) for i in range(epochs)]  # each epoch's last batch
        valid = [(end, row["valid_loss"]) for end, row in zip(ends, recorder.history, strict=True)
                 if not math.isnan(row["valid_loss"])]  # fmt: skip
        if valid:
            ax.plot(*zip(*valid, strict=True), marker="o", clip_on=False, label="valid")
        ax.set_xlim(0, max(batches_per_epoch * self.learn.n_epoch, len(losses), 1))
        ax.set_xlabel("batch")
        ax.set_ylabel("loss")
        ax.legend()
        return figure


def _png(figure: Any) -> str:
    """The figure as a base64 PNG, the form a notebook's `image/png` output takes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")
