"""Where output goes in a Jupyter kernel: rich output updated in place, and figures and text
reports shown exactly once.

Nothing here imports IPython: a process that has not imported it cannot be a kernel, and
importing it costs a noticeable fraction of a second.

`show` is the one place lamina hands a live MIME bundle (the training display) to IPython;
tests replace it, and `in_notebook`, to watch what would be displayed.

Figures are built without pyplot (so scripts never open windows or leak figures), and
pyplot-free figures are invisible to the inline backend. Instead, an object made for display
is queued when created inside a kernel (`queue_display`); when the cell ends, each queued
object that the cell did not already display (as its result, or with `display`) is displayed.
So a plotting call shows its picture once, whether it is the cell's last line, inside a loop
or assigned to a name. Outside a kernel (scripts, tests) nothing is queued and nothing shown.
"""

from __future__ import annotations

import sys
from typing import Any, Protocol

_pending: list[Any] = []
_hooked: list[Any] = []  # the shells whose post_execute event displays `_pending`


def ipython_shell() -> Any:
    """The running IPython shell (a Jupyter kernel's or a terminal's), else None."""
    module = sys.modules.get("IPython")
    get_ipython = getattr(module, "get_ipython", None)
    return get_ipython() if get_ipython is not None else None


def kernel_shell() -> Any:
    """The running IPython shell when it is a Jupyter kernel's, else None.

    A kernel's shell has a `kernel`; Colab's subclasses the kernel shell class, so the whole
    class hierarchy is checked too. The terminal IPython shell is no kernel.
    """
    shell = ipython_shell()
    if shell is None:
        return None
    is_kernel = getattr(shell, "kernel", None) is not None or any(
        cls.__name__ == "ZMQInteractiveShell" for cls in type(shell).__mro__
    )
    return shell if is_kernel else None


def in_notebook() -> bool:
    """True inside a Jupyter kernel (Jupyter, JupyterLab, VS Code, Colab): where HTML renders."""
    return kernel_shell() is not None


class LiveOutput(Protocol):
    """An output shown in the notebook that can be replaced in place."""

    def update(self, bundle: dict[str, str]) -> None:
        """Replace what is shown with `bundle`, a MIME bundle like the one `show` took."""


class _IPythonOutput:
    def __init__(self, handle: Any) -> None:
        self.handle = handle

    def update(self, bundle: dict[str, str]) -> None:
        self.handle.update(bundle, raw=True)


def show(bundle: dict[str, str]) -> LiveOutput:
    """Display a MIME bundle (e.g. `{"text/html": ..., "text/plain": ...}`) in the notebook;
    the returned output's `update(bundle)` replaces it in place."""
    from IPython.display import display

    return _IPythonOutput(display(bundle, raw=True, display_id=True))


def queue_display(obj: Any, terminal: bool = False) -> bool:
    """Display `obj` when the current cell ends, unless the cell displayed it already; returns
    whether it was queued.

    Queues only in a Jupyter kernel, or in any IPython shell when `terminal` (for text, which
    a terminal can show). `obj` calls `mark_displayed(obj)` from its own display method.
    """
    shell = ipython_shell() if terminal else kernel_shell()
    if shell is None:
        return False
    if not any(hooked is shell for hooked in _hooked):
        shell.events.register("post_execute", _display_pending)
        _hooked.append(shell)
    obj._lamina_displayed = False
    _pending.append(obj)
    return True


def mark_displayed(obj: Any) -> None:
    """Note that `obj` has been displayed, so the end of the cell does not display it again."""
    obj._lamina_displayed = True


def _display_pending() -> None:
    from IPython.display import display

    waiting = list(_pending)
    _pending.clear()
    for obj in waiting:
        if not getattr(obj, "_lamina_displayed", True):
            display(obj)
