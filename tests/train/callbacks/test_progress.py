"""ProgressCallback: a live HTML table and bar in notebooks, tqdm in terminals, and plain
lines without carriage returns in logs."""

from __future__ import annotations

import re

import pytest

from lamina import Callback, accuracy
from lamina.core import notebook
from lamina.testing import tiny_learner
from lamina.train.callbacks import ProgressCallback
from lamina.train.callbacks.progress import resolve_mode
from lamina.train.callbacks.progress_notebook import clock

from .notebook_fakes import fake_notebook, forbid_tqdm


def _progress_values(html: str) -> list[tuple[int, int]]:
    return [(int(value), int(top))
            for value, top in re.findall(r'<progress value="(\d+)" max="(\d+)"', html)]  # fmt: skip


def test_notebook_shows_a_bar_over_a_table_with_one_row_per_epoch(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = fake_notebook(monkeypatch)
    forbid_tqdm(monkeypatch)
    learn = tiny_learner(classification=True, metrics=accuracy, silent=False)
    learn.progress.refresh = 0  # update the bar after every batch
    learn.fit(3, lr=0.01)

    bar, table = outputs  # the bar first, above the table
    html = table.last["text/html"]
    assert re.findall(r"<th>(\w+)</th>", html) == learn.recorder.metric_names
    assert html.count("</tr>") == 1 + 3  # the header, then one row per epoch
    assert len(table.bundles) == 3  # shown at the first epoch's end, then one update per epoch
    assert table.bundles[0]["text/html"].count("</tr>") == 2
    for row in learn.recorder.history:
        assert f"<td>{row['valid_loss']:.6f}</td>" in html
        assert f"<td>{row['accuracy']:.6f}</td>" in html
    assert "train_loss" in table.last["text/plain"]

    # the batch bar moves batch by batch through each phase, under the epoch bar
    batch_bars = [_progress_values(bundle["text/html"])[1:] for bundle in bar.bundles]
    n_train = len(learn.dls.train)
    assert [(done, n_train) for done in range(1, n_train + 1)] == [
        values[0] for values in batch_bars[1 : n_train + 2] if values
    ][1:]
    assert "loss" in bar.bundles[5]["text/plain"]
    assert _progress_values(bar.last["text/html"]) == [(3, 3)]  # all epochs done, no batch bar
    assert capsys.readouterr() == ("", "")  # nothing printed besides the notebook outputs


def test_notebook_interrupted_fit_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    outputs = fake_notebook(monkeypatch)

    class Fail(Callback):
        def after_batch(self) -> None:
            if self.learn.iter == 3:
                raise RuntimeError("boom")

    learn = tiny_learner(silent=False)
    with pytest.raises(RuntimeError, match="boom"):
        learn.fit(2, cbs=Fail())
    assert "interrupted" in outputs[0].last["text/plain"]
    learn.fit(1)  # a later fit gets fresh outputs
    assert len(outputs) == 3


def test_log_output_has_rows_and_no_carriage_returns(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert resolve_mode() == "log"  # pytest captures output: no terminal, no kernel
    learn = tiny_learner(silent=False)
    learn.progress.log_every = 0  # a plain progress line at every chance
    learn.fit(2, lr=0.01)
    out, err = capsys.readouterr()
    assert "\r" not in out + err
    lines = out.splitlines()
    assert lines[0].split() == learn.recorder.metric_names
    assert [line.split()[0] for line in lines[1:]] == ["0", "1"]
    assert f"epoch 1 train: {len(learn.dls.train)}/{len(learn.dls.train)} batches, loss" in err


def test_log_progress_lines_wait_for_log_every(capsys: pytest.CaptureFixture[str]) -> None:
    tiny_learner(silent=False).fit(1)  # log_every defaults to a minute
    out, err = capsys.readouterr()
    assert err == ""
    assert len(out.splitlines()) == 2


def test_terminal_keeps_the_tqdm_bar_and_text_table(capsys: pytest.CaptureFixture[str]) -> None:
    learn = tiny_learner(silent=False)
    learn.progress.mode = "terminal"
    learn.fit(2)
    out, err = capsys.readouterr()
    assert "\r" in err
    assert "epoch 1 train" in err
    assert [line.split()[0] for line in out.splitlines()] == ["epoch", "0", "1"]


def test_silent_and_other_ranks_show_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = fake_notebook(monkeypatch)
    tiny_learner(silent=True).fit(1)
    monkeypatch.setattr("lamina.train.callbacks.progress.is_main_process", lambda: False)
    tiny_learner(silent=False).fit(1)
    assert outputs == []
    assert capsys.readouterr() == ("", "")


def test_auto_mode_follows_the_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(notebook, "in_notebook", lambda: True)
    assert resolve_mode() == "notebook"
    assert resolve_mode("log") == "log"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"mode": "html"}, "mode must be one of"), ({"refresh": -1}, "refresh and log_every")],
)
def test_arguments_are_validated(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ProgressCallback(**kwargs)


def test_clock() -> None:
    assert clock(5.7) == "00:05"
    assert clock(125) == "02:05"
    assert clock(3725) == "1:02:05"
