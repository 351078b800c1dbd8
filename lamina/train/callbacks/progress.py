"""`ProgressCallback`: a progress bar per phase and the epoch table, shown where output goes."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from lamina.core import notebook
from lamina.core.ranks import is_main_process
from lamina.train.callback import Callback
from lamina.train.callbacks.progress_notebook import NotebookView
from lamina.train.callbacks.progress_views import LogView, ProgressView, TerminalView

MODES = ("auto", "notebook", "terminal", "log")


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr is not None and sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced by an object without isatty, or closed
        return False


def resolve_mode(mode: str = "auto") -> str:
    """`mode`, or for `"auto"` the one that suits where output goes now: `"notebook"` in a
    Jupyter kernel, `"terminal"` when stderr is a terminal, `"log"` otherwise."""
    if mode != "auto":
        return mode
    if notebook.in_notebook():
        return "notebook"
    return "terminal" if _stderr_is_terminal() else "log"


class ProgressCallback(Callback):
    """Shows a progress bar per phase and one table row per epoch, in the form that suits where
    the output goes (`mode="auto"`; or force one of `"notebook"`, `"terminal"`, `"log"`):

    - notebook (a Jupyter kernel): HTML bars over an HTML table that grows a row per epoch,
      updated in place; ipywidgets are not needed.
    - terminal (stderr is a TTY): a tqdm bar on stderr and the table as text on stdout.
    - log (anything else: a file, CI): the table on stdout, no bar and no carriage returns;
      a phase longer than `log_every` seconds writes a plain progress line on stderr every
      `log_every` seconds.

    The bar is refreshed at most every `refresh` seconds, and only then is the smoothed loss
    read from the device, so the display costs almost nothing per batch. `silent=True` hides it
    all; under DDP only rank 0 shows anything. `show_table=False` keeps the bar but prints no
    rows (`lr_find` uses it: its rows would mean nothing).
    """

    order = 60

    def __init__(
        self, silent: bool = False, refresh: float = 0.2, mode: str = "auto", log_every: float = 60
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if refresh < 0 or log_every < 0:
            raise ValueError(
                f"refresh and log_every must be >= 0 seconds, got {refresh!r}, {log_every!r}"
            )
        self.silent, self.refresh, self.mode, self.log_every = silent, refresh, mode, log_every
        self.show_table = True
        self.view: ProgressView | None = None

    @contextmanager
    def table_hidden(self) -> Iterator[None]:
        """Within this block, fits show their progress bar but no epoch rows."""
        shown, self.show_table = self.show_table, False
        try:
            yield
        finally:
            self.show_table = shown

    def _make_view(self) -> ProgressView | None:
        if self.silent or not is_main_process():
            return None
        mode = resolve_mode(self.mode)
        if mode == "notebook":
            learn = self.learn
            return NotebookView(self.refresh, learn.n_epoch, learn.start_epoch, self.show_table)
        return TerminalView(self.refresh) if mode == "terminal" else LogView(self.log_every)

    def before_fit(self) -> None:
        self.view = self._make_view()

    def _open_bar(self, desc: str) -> None:
        if self.view is not None:
            self.view.open_bar(desc, self.learn.n_iter)
            self._pending, self._last_refresh = 0, time.perf_counter()

    def before_train(self) -> None:
        self._open_bar(f"epoch {self.learn.epoch} train")

    def before_validate(self) -> None:
        if self.learn.in_fit:
            self._open_bar(f"epoch {self.learn.epoch} valid")

    def after_batch(self) -> None:
        if self.view is None:
            return
        self._pending += 1
        now = time.perf_counter()
        if now - self._last_refresh >= self.view.interval:
            loss = self.learn.recorder.smooth_loss() if self.learn.training else None
            self.view.update_bar(self._pending, loss)
            self._pending, self._last_refresh = 0, now

    def after_train(self) -> None:
        if self.view is not None:
            self.view.close_bar()

    def after_validate(self) -> None:
        self.after_train()

    def after_epoch(self) -> None:
        if self.view is None:
            return
        recorder = self.learn.recorder
        names = recorder.metric_names
        row = [recorder.history[-1][name] for name in names] if self.show_table else None
        self.view.epoch_done(names, row)

    def after_fit(self) -> None:
        if self.view is not None:
            self.view.close(leave=self.show_table)
            self.view = None

    def after_interrupt(self) -> None:
        if self.view is not None:
            self.view.close(leave=True, status="interrupted")
            self.view = None
