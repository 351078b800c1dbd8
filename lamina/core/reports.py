"""`TextReport`: multi-line text that notebooks and REPLs show as a block, once.

A plain str returned to Jupyter shows as one quoted line with literal `\\n`s. A `TextReport`
is still a str (`print`, `in`, `splitlines`... all work, `str(report)` is the text), but its
repr is the text itself, so `learn.summary()` as a cell's last line reads as a block.
"""

from __future__ import annotations

from typing import Any

from lamina.core.notebook import mark_displayed, queue_display


class TextReport(str):
    """A str whose repr is its text, for summaries meant for reading."""

    __slots__ = ("_lamina_displayed",)

    def __repr__(self) -> str:
        return str(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        mark_displayed(self)
        printer.text(str(self))


def show_report(text: str) -> TextReport:
    """`text` as a `TextReport`, shown once: printed now in a script, and in IPython shown when
    the cell ends unless the cell's result already showed it."""
    report = TextReport(text)
    if not queue_display(report, terminal=True):
        print(report)
    return report
