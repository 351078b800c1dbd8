"""`CSVLogger`: the epoch table, one CSV row per epoch, written as training goes."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, TextIO

from lamina.core.ranks import is_main_process
from lamina.train.callback import Callback


class CSVLogger(Callback):
    """Writes each epoch's row of the recorder's table to `learn.path / fname`.

    The header is `learn.recorder.metric_names`; the file is flushed after every epoch, so it
    can be read while training runs and survives an interrupted fit.

    Args:
        fname: file name (or relative path) under `learn.path`.
        append: add rows to an existing file instead of starting a new one; the header is
            written only when the file is new or empty.
    """

    order = 55  # after Recorder (50) has appended the row, before trackers that may stop the fit

    def __init__(self, fname: str | Path = "history.csv", append: bool = False) -> None:
        if not isinstance(fname, (str, Path)) or not str(fname):
            raise ValueError(f"fname must be a non-empty file name, got {fname!r}")
        self.fname, self.append = Path(fname), bool(append)
        self.file: TextIO | None = None

    @property
    def name(self) -> str:
        """`learn.csv_logger` (the generic rule would split the acronym letter by letter)."""
        return "csv_logger"

    @property
    def path(self) -> Path:
        """Where the log is written."""
        return self.learn.path / self.fname

    def before_fit(self) -> None:
        self._close()
        if not is_main_process():  # under DDP rank 0 writes the one log
            return
        path = self.path
        path.parent.mkdir(parents=True, exist_ok=True)
        has_rows = self.append and path.exists() and path.stat().st_size > 0
        self.file = path.open("a" if self.append else "w", newline="", encoding="utf-8")
        self.writer = csv.writer(self.file)
        if not has_rows:
            self.writer.writerow(self.learn.recorder.metric_names)
            self.file.flush()

    def after_epoch(self) -> None:
        if self.file is None:
            return
        recorder = self.learn.recorder
        self.writer.writerow([recorder.history[-1][name] for name in recorder.metric_names])
        self.file.flush()

    def _close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None

    def after_fit(self) -> None:
        self._close()

    def read(self) -> list[dict[str, Any]]:
        """The rows written so far, as dicts of column name to text."""
        with self.path.open(newline="", encoding="utf-8") as file:
            return list(csv.DictReader(file))
