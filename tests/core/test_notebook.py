"""Telling a Jupyter kernel from a terminal without importing IPython."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

from lamina.core.notebook import in_notebook


def _fake_ipython(monkeypatch: pytest.MonkeyPatch, shell: object) -> None:
    module = types.ModuleType("IPython")
    module.get_ipython = lambda: shell  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython", module)


def test_no_ipython_imported_means_no_notebook_and_imports_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    assert not in_notebook()
    assert "IPython" not in sys.modules


def test_kernel_shells_are_notebooks_terminal_shells_are_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ZMQInteractiveShell = type("ZMQInteractiveShell", (), {})
    ColabShell = type("Shell", (ZMQInteractiveShell,), {})
    TerminalInteractiveShell = type("TerminalInteractiveShell", (), {})
    for shell, expected in [(ZMQInteractiveShell(), True), (ColabShell(), True),
                            (TerminalInteractiveShell(), False), (None, False)]:  # fmt: skip
        _fake_ipython(monkeypatch, shell)
        assert in_notebook() is expected


def test_show_then_update_replace_one_output_through_ipython(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pytest.importorskip("IPython")
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path))  # IPython's profile goes here, not $HOME
    from IPython.core.displaypub import DisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    from lamina.core.notebook import show

    published: list[tuple[dict, dict, bool]] = []

    class Recorded(DisplayPublisher):
        def publish(self, data, metadata=None, *args, transient=None, update=False, **kwargs):
            published.append((data, transient, update))

    config = Config()
    config.HistoryManager.enabled = False  # no history file, no thread to save it
    shell = InteractiveShell.instance(config=config)
    monkeypatch.setattr(shell, "display_pub", Recorded(shell=shell))
    try:
        output = show({"text/html": "<b>1</b>", "text/plain": "1"})
        output.update({"text/html": "<b>2</b>", "text/plain": "2"})
        other = show({"text/plain": "other"})
    finally:
        InteractiveShell.clear_instance()
    (first, first_id, first_update), (second, second_id, second_update), third = published
    assert (first, first_update) == ({"text/html": "<b>1</b>", "text/plain": "1"}, False)
    assert (second, second_update) == ({"text/html": "<b>2</b>", "text/plain": "2"}, True)
    assert first_id == second_id != third[1]  # the update replaces the first output only
    assert other is not output
