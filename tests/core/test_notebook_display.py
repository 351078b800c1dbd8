"""Display-once machinery without a kernel: TextReport's reprs, show_report in a script, and
the end-of-cell queue with a stand-in shell (the real kernel: tests/notebooks)."""

from __future__ import annotations

from typing import Any

import pytest

from lamina.core import notebook
from lamina.core.figures import new_figure
from lamina.core.reports import TextReport, show_report


def test_text_report_is_a_str_that_shows_as_a_block() -> None:
    from IPython.lib.pretty import pretty

    report = TextReport("layer  shape\nconv   (1, 8)")
    assert report == "layer  shape\nconv   (1, 8)"
    assert str(report) == report
    assert repr(report) == "layer  shape\nconv   (1, 8)"
    assert pretty(report) == "layer  shape\nconv   (1, 8)"


def test_show_report_prints_once_in_a_script(capsys: pytest.CaptureFixture[str]) -> None:
    report = show_report("a\nb")
    assert capsys.readouterr().out == "a\nb\n"
    assert isinstance(report, TextReport)


class FakeEvents:
    def __init__(self) -> None:
        self.callbacks: list[Any] = []

    def register(self, name: str, callback: Any) -> None:
        assert name == "post_execute"
        self.callbacks.append(callback)


class FakeKernelShell:
    kernel = object()

    def __init__(self) -> None:
        self.events = FakeEvents()


def test_the_cell_end_displays_what_the_cell_did_not(monkeypatch: pytest.MonkeyPatch) -> None:
    import IPython.display

    shell = FakeKernelShell()
    monkeypatch.setattr(notebook, "ipython_shell", lambda: shell)
    monkeypatch.setattr(notebook, "_hooked", [])
    monkeypatch.setattr(notebook, "_pending", [])
    shown: list[Any] = []
    monkeypatch.setattr(IPython.display, "display", shown.append)
    result, side = new_figure(), new_figure()
    report = show_report("text")  # queued, not printed
    result._repr_mimebundle_()  # the cell's result: displayed by IPython already
    assert len(shell.events.callbacks) == 1  # hooked once
    shell.events.callbacks[0]()
    assert shown == [side, report]
    shell.events.callbacks[0]()  # the next cell: nothing left over
    assert len(shown) == 2


def test_no_queue_outside_ipython(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(notebook, "_pending", [])
    new_figure()
    assert notebook._pending == []
