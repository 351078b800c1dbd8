"""CSVLogger: the epoch table as CSV, written and flushed each epoch."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from lamina import Callback
from lamina.train.callbacks import CSVLogger

from .scripted import small_learner


def _rows(path: Path) -> list[list[str]]:
    with path.open(newline="") as file:
        return list(csv.reader(file))


def test_writes_header_and_one_row_per_epoch(tmp_path: Path) -> None:
    learn = small_learner(path=tmp_path, cbs=[CSVLogger()])
    learn.fit(3, lr=0.05)
    rows = _rows(tmp_path / "history.csv")
    assert rows[0] == ["epoch", "train_loss", "valid_loss", "time"]
    assert len(rows) == 4
    for row, record in zip(rows[1:], learn.recorder.history, strict=True):
        assert [float(cell) for cell in row] == pytest.approx(list(record.values()))
    assert learn.csv_logger.read()[2]["epoch"] == "2"


def test_rows_are_on_disk_during_training(tmp_path: Path) -> None:
    class ReadBack(Callback):
        order = 90

        def __init__(self) -> None:
            self.seen: list[int] = []

        def after_epoch(self) -> None:
            self.seen.append(len(_rows(tmp_path / "logs" / "run.csv")))

    reader = ReadBack()
    learn = small_learner(path=tmp_path, cbs=[CSVLogger("logs/run.csv"), reader])
    learn.fit(2)
    assert reader.seen == [2, 3]


def test_append_keeps_earlier_rows_and_one_header(tmp_path: Path) -> None:
    learn = small_learner(path=tmp_path)
    learn.fit(2, cbs=[CSVLogger(append=True)])
    learn.fit(1, cbs=[CSVLogger(append=True)])
    rows = _rows(tmp_path / "history.csv")
    assert [row[0] for row in rows] == ["epoch", "0", "1", "0"]
    learn.fit(1, cbs=[CSVLogger()])
    assert len(_rows(tmp_path / "history.csv")) == 2  # without append the file starts over


def test_rejects_empty_name() -> None:
    with pytest.raises(ValueError, match="fname must be a non-empty file name, got ''"):
        CSVLogger("")
