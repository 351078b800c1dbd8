"""Figures that scripts can save and Jupyter shows exactly once.

`new_figure` makes a matplotlib figure that pyplot does not track: a script never opens a
window or keeps figures alive, and a figure is saved with `fig.savefig(path)`. In a Jupyter
kernel the figure renders itself as PNG (`_repr_mimebundle_`) when it is a cell's result, and
otherwise is displayed when the cell ends (`lamina.core.notebook`), so every plotting call
shows its picture once, with whatever the cell drew on it after the call.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from lamina.core.notebook import mark_displayed, queue_display

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def new_figure(figsize: tuple[float, float] | None = None, **kwargs: Any) -> Figure:
    """A `matplotlib.figure.Figure` (lamina's `NotebookFigure` subclass) outside pyplot.

    Args:
        figsize: width and height in inches (matplotlib's default when None).
        kwargs: passed to `Figure` (e.g. `dpi`, `layout`).

    Example:
        >>> fig = new_figure(figsize=(4, 3))
        >>> ax = fig.subplots()
        >>> fig.savefig("plot.png")
    """
    fig = _figure_class()(figsize=figsize, **kwargs)
    queue_display(fig)
    return fig


def figure_png(fig: Figure) -> bytes:
    """`fig` rendered as PNG bytes, cropped to what is drawn (as Jupyter's inline backend does)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()


_CLASS: list[type] = []


def _figure_class() -> type:
    # Built on first use so importing lamina does not import matplotlib.
    if not _CLASS:
        from matplotlib.figure import Figure

        class NotebookFigure(Figure):
            """A matplotlib Figure that shows itself as PNG in Jupyter (once per cell)."""

            def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
                mark_displayed(self)
                bundle: dict[str, Any] = {"text/plain": repr(self)}
                if (include is None or "image/png" in include) and not (
                    exclude and "image/png" in exclude
                ):
                    bundle["image/png"] = figure_png(self)
                return bundle

        NotebookFigure.__module__ = __name__
        NotebookFigure.__qualname__ = "NotebookFigure"
        globals()["NotebookFigure"] = NotebookFigure  # so pickle finds it by name
        _CLASS.append(NotebookFigure)
    return _CLASS[0]
