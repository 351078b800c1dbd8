"""Telling a Jupyter kernel from a terminal without importing IPython."""

from __future__ import annotations

import sys
import types

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
