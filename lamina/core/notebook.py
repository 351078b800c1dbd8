"""Showing lamina's figures and text reports exactly once in a Jupyter kernel.

Figures are built without pyplot (so scripts never open windows or leak figures), and
pyplot-free figures are invisible to the inline backend. Instead, an object made for display
is queued when created inside a kernel; when the cell ends, each queued object that the cell
did not already display (as its result, or with `display`) is displayed. So a plotting call
shows its picture once, whether it is the cell's last line, inside a loop or assigned to a
name. Outside a kernel (scripts, tests) nothing is queued and nothing is shown.
"""

from __future__ import annotations

import sys
from typing import Any

_pending: list[Any] = []
_hooked: list[Any] = []  # the shells whose post_execute event displays `_pending`


def ipython_shell() -> Any:
    """The running IPython shell (a Jupyter kernel's or a terminal's), else None.

    Looks only at modules already imported, so a script never imports IPython through lamina.
    """
    module = sys.modules.get("IPython")
    get_ipython = getattr(module, "get_ipython", None)
    return get_ipython() if get_ipython is not None else None


def kernel_shell() -> Any:
    """The running IPython shell when it is a Jupyter kernel's (it has a `kernel`), else None."""
    shell = ipython_shell()
    return shell if getattr(shell, "kernel", None) is not None else None


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
