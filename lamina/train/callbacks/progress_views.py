"""How `ProgressCallback` shows progress as text: a live bar in a terminal, plain lines in a log.

A view receives a phase's start (`open_bar`), batches done (`update_bar`, called at most every
`interval` seconds), the phase's end (`close_bar`), each finished epoch (`epoch_done`, with the
table row or `None` when rows are hidden) and the fit's end (`close`). The notebook view, in
`progress_notebook`, takes the same calls.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import Any, Protocol

from lamina.train.callbacks.epoch_table import format_cells, text_line


class ProgressView(Protocol):
    """What `ProgressCallback` drives: a bar per phase and the epoch table."""

    interval: float  # least seconds between two `update_bar` calls

    def open_bar(self, desc: str, total: int | None) -> None: ...
    def update_bar(self, advanced: int, loss: float | None) -> None: ...
    def close_bar(self) -> None: ...
    def epoch_done(self, names: Sequence[str], row: Sequence[Any] | None) -> None: ...
    def close(self, leave: bool, status: str = "") -> None: ...


class _TextTable:
    """Writes the header before the first row of a fit, then one aligned line per row."""

    def __init__(self) -> None:
        self.header_done = False

    def lines(self, names: Sequence[str], row: Sequence[Any]) -> list[str]:
        lines = [] if self.header_done else [text_line(names, names)]
        self.header_done = True
        return [*lines, text_line(format_cells(row), names)]


class TerminalView:
    """A tqdm bar on stderr redrawn in place, and table lines on stdout written through tqdm,
    which clears the bar around them."""

    def __init__(self, refresh: float) -> None:
        self.interval = refresh
        self.bar: Any = None
        self.table = _TextTable()

    def open_bar(self, desc: str, total: int | None) -> None:
        from tqdm import tqdm  # not tqdm.auto: that one may import IPython to look for a kernel

        self.bar = tqdm(total=total, desc=desc, leave=False, dynamic_ncols=True)

    def update_bar(self, advanced: int, loss: float | None) -> None:
        if self.bar is None:
            return
        if loss is not None:
            self.bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
        self.bar.update(advanced)

    def close_bar(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def epoch_done(self, names: Sequence[str], row: Sequence[Any] | None) -> None:
        if row is None:
            return
        from tqdm import tqdm

        for line in self.table.lines(names, row):
            tqdm.write(line)

    def close(self, leave: bool, status: str = "") -> None:
        self.close_bar()


class LogView:
    """For output that is not a terminal (a file, CI): no bar and no carriage returns. Table
    lines go to stdout; a phase that runs longer than `log_every` seconds gets one plain line
    on stderr every `log_every` seconds (`epoch 3 train: 1200/5000 batches, loss 0.2345, 61s`)."""

    def __init__(self, log_every: float) -> None:
        self.interval = log_every
        self.table = _TextTable()
        self.desc, self.done, self.start = "", 0, 0.0
        self.total: int | None = None

    def open_bar(self, desc: str, total: int | None) -> None:
        self.desc, self.total, self.done, self.start = desc, total, 0, time.perf_counter()

    def update_bar(self, advanced: int, loss: float | None) -> None:
        self.done += advanced
        of_total = "" if self.total is None else f"/{self.total}"
        loss_text = "" if loss is None else f", loss {loss:.4f}"
        elapsed = time.perf_counter() - self.start
        line = f"{self.desc}: {self.done}{of_total} batches{loss_text}, {elapsed:.0f}s"
        print(line, file=sys.stderr, flush=True)

    def close_bar(self) -> None:
        pass

    def epoch_done(self, names: Sequence[str], row: Sequence[Any] | None) -> None:
        if row is not None:
            print("\n".join(self.table.lines(names, row)), flush=True)

    def close(self, leave: bool, status: str = "") -> None:
        pass  # an interrupted fit's traceback says the rest
