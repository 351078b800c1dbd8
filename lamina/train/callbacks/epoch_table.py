"""The epoch table's cells, as aligned text lines for terminals and logs or as an HTML table."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

MIN_WIDTH = 9  # of a text column, so that a float's six decimals line up under short names


def format_cells(row: Sequence[Any]) -> list[str]:
    """The cells of one row `[epoch, train_loss, valid_loss, *metrics, time]` as text."""
    return [_format(value) for value in row[:-1]] + [f"{row[-1]:.1f}s"]


def _format(value: Any) -> str:
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    return f"{value:.6f}" if isinstance(value, float) else str(value)


def text_line(cells: Sequence[str], names: Sequence[str]) -> str:
    """`cells` padded to the widths of the columns `names` (pass `names` for the header)."""
    widths = [max(len(name), MIN_WIDTH) for name in names]
    return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))


def html_table(names: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """An HTML table: a header of `names`, then one line per row of values."""
    header = "".join(f"<th>{html.escape(name)}</th>" for name in names)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in format_cells(row)) + "</tr>"
        for row in rows
    )
    # Jupyter styles the `dataframe` class as it styles pandas' tables.
    return (
        f'<table border="1" class="dataframe"><thead><tr style="text-align: left;">{header}'
        f"</tr></thead><tbody>{body}</tbody></table>"
    )
