"""Where output goes: whether we run in a Jupyter kernel, and rich output updated in place there.

`in_notebook` never imports IPython: a process that has not imported it cannot be a kernel, and
importing it costs a noticeable fraction of a second. `show` is the one place lamina hands a
MIME bundle to IPython; tests replace it to watch what would be displayed.
"""

from __future__ import annotations

import sys
from typing import Any, Protocol


class LiveOutput(Protocol):
    """An output shown in the notebook that can be replaced in place."""

    def update(self, bundle: dict[str, str]) -> None:
        """Replace what is shown with `bundle`, a MIME bundle like the one `show` took."""


class _IPythonOutput:
    def __init__(self, handle: Any) -> None:
        self.handle = handle

    def update(self, bundle: dict[str, str]) -> None:
        self.handle.update(bundle, raw=True)


def in_notebook() -> bool:
    """True inside a Jupyter kernel (Jupyter, JupyterLab, VS Code, Colab): where HTML renders.

    The terminal IPython shell is no kernel: there, text output is what shows.
    """
    ipython = sys.modules.get("IPython")
    get_ipython = getattr(ipython, "get_ipython", None)
    shell = get_ipython() if get_ipython is not None else None
    # Colab's shell subclasses the kernel's, so the whole class hierarchy is checked.
    return shell is not None and any(
        cls.__name__ == "ZMQInteractiveShell" for cls in type(shell).__mro__
    )


def show(bundle: dict[str, str]) -> LiveOutput:
    """Display a MIME bundle (e.g. `{"text/html": ..., "text/plain": ...}`) in the notebook;
    the returned output's `update(bundle)` replaces it in place."""
    from IPython.display import display

    return _IPythonOutput(display(bundle, raw=True, display_id=True))
