"""How `ProgressCallback` shows progress in a notebook: HTML bars over a table that grows a row
per epoch, each one output replaced in place (no ipywidgets, so nothing to install or enable)."""

from __future__ import annotations

import html
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from lamina.core import notebook
from lamina.train.callbacks.epoch_table import format_cells, html_table, text_line


def clock(seconds: float) -> str:
    """`mm:ss`, or `h:mm:ss` from an hour on."""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def progress_line(done: int, total: int | None, elapsed: float, label: str) -> tuple[str, str]:
    """One bar as (HTML, plain text): `<progress>` with `done/total [elapsed<remaining] label`."""
    if total:
        remaining = clock(elapsed / done * (total - done)) if done else "?"
        text = f"{done}/{total} [{clock(elapsed)}<{remaining}] {label}"
        value = f' value="{min(done, total)}" max="{total}"'
    else:  # a loader of unknown length: the bar stays indeterminate
        text, value = f"{done} [{clock(elapsed)}] {label}", ""
    bar = f'<progress{value} style="width:300px;height:20px;vertical-align:middle"></progress>'
    return f"<div>{bar} {html.escape(text)}</div>", text


@dataclass
class _Phase:
    desc: str
    total: int | None
    done: int = 0
    loss: float | None = None
    start: float = field(default_factory=time.perf_counter)

    def line(self) -> tuple[str, str]:
        label = self.desc + ("" if self.loss is None else f", loss {self.loss:.4f}")
        return progress_line(self.done, self.total, time.perf_counter() - self.start, label)


class NotebookView:
    """Two live outputs: above, a bar over the fit's epochs (when the table shows) and a bar
    over the running phase's batches; below, the epoch table, shown from its first row."""

    def __init__(self, refresh: float, n_epoch: int, start_epoch: int, with_table: bool) -> None:
        self.interval = refresh
        self.n_epoch, self.epochs_done, self.first_epoch = n_epoch, start_epoch, start_epoch
        self.with_table, self.status = with_table, ""
        self.fit_start = time.perf_counter()
        self.phase: _Phase | None = None
        self.rows: list[Sequence[Any]] = []
        self.table_output: notebook.LiveOutput | None = None
        self.bar_output = notebook.show(self._bars())

    def _bars(self) -> dict[str, str]:
        lines = []
        if self.with_table:
            elapsed = time.perf_counter() - self.fit_start
            done = self.epochs_done - self.first_epoch
            # the estimate of time left counts only the epochs this fit ran
            lines.append(progress_line(done, self.n_epoch - self.first_epoch, elapsed, "epochs"))
        if self.phase is not None:
            lines.append(self.phase.line())
        if self.status:
            lines.append((f"<div>{html.escape(self.status)}</div>", self.status))
        return {
            "text/html": "".join(h for h, _ in lines),
            "text/plain": "\n".join(t for _, t in lines),
        }

    def open_bar(self, desc: str, total: int | None) -> None:
        self.phase = _Phase(desc, total)
        self.bar_output.update(self._bars())

    def update_bar(self, advanced: int, loss: float | None) -> None:
        if self.phase is None:
            return
        self.phase.done += advanced
        if loss is not None:
            self.phase.loss = loss
        self.bar_output.update(self._bars())

    def close_bar(self) -> None:
        self.phase = None  # shown at the next update: a phase usually follows at once

    def epoch_done(self, names: Sequence[str], row: Sequence[Any] | None) -> None:
        self.epochs_done += 1
        if row is not None:
            self.rows.append(row)
            text = "\n".join([text_line(names, names)]
                             + [text_line(format_cells(r), names) for r in self.rows])  # fmt: skip
            table = {"text/html": html_table(names, self.rows), "text/plain": text}
            if self.table_output is None:
                self.table_output = notebook.show(table)
            else:
                self.table_output.update(table)
        self.bar_output.update(self._bars())

    def close(self, leave: bool, status: str = "") -> None:
        self.phase, self.status = None, status
        self.bar_output.update(self._bars() if leave else {"text/html": "", "text/plain": ""})
