"""Running notebooks in a fresh Jupyter kernel of this very Python, as a user's would run."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]


def new_notebook(*sources: str) -> Any:
    """A notebook with one code cell per source."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    return notebook


def execute(notebook: Any, cwd: Path, timeout: int = 120) -> Any:
    """Execute `notebook` in a fresh python3 kernel started in `cwd`; returns it, with outputs.

    The kernel runs this interpreter (jupyter_client starts a "python" kernel command with
    `sys.executable`), with this checkout first on its path.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.pop("MPLBACKEND", None)  # a fresh kernel picks matplotlib's inline backend itself
    # One torch thread, as in conftest: test processes share the cores, and torch's threads
    # spinning against each other make a tiny fit several times slower.
    env.setdefault("OMP_NUM_THREADS", "1")
    resources = {"metadata": {"path": str(cwd)}}
    # The client owns its kernel manager, so it shuts the kernel down and closes its sockets.
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3", resources=resources)
    return client.execute(env=env)  # passed on to the kernel manager's start_kernel


def images(cell: Any) -> int:
    """How many PNG pictures the cell's outputs hold."""
    return sum("image/png" in output.get("data", {}) for output in cell.outputs)


def texts(cell: Any) -> list[str]:
    """The cell's printed text and plain-text results, one entry per output."""
    found = []
    for output in cell.outputs:
        if output.output_type == "stream":
            found.append(output.text)
        elif "text/plain" in output.get("data", {}) and "image/png" not in output["data"]:
            found.append(output["data"]["text/plain"])
    return found


def errors(notebook: Any) -> list[str]:
    """The error outputs of all cells, as 'name: value'."""
    return [f"{output.ename}: {output.evalue}" for cell in notebook.cells
            for output in cell.get("outputs", []) if output.output_type == "error"]  # fmt: skip
