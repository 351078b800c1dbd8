"""The example notebooks in examples/: stored clean, and each runs top to bottom in a fresh
kernel without an error (`make test-notebooks`; marked `notebooks`, so `make test` skips them)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from tests.notebooks.kernel import ROOT, errors, execute, images

EXAMPLES = sorted((ROOT / "examples").glob("*.ipynb"))


def test_there_are_examples_for_each_application() -> None:
    assert {path.stem for path in EXAMPLES} >= {"vision", "tabular", "collab", "text"}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.stem)
def test_example_is_stored_without_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name}: clear its outputs before committing"
            assert cell.execution_count is None, f"{path.name}: clear its execution counts"
    assert "../shared" not in path.read_text()


@pytest.mark.notebooks
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.stem)
def test_example_runs_in_a_fresh_kernel(path: Path, tmp_path: Path) -> None:
    notebook = execute(nbformat.read(path, as_version=4), tmp_path, timeout=300)
    assert not errors(notebook), errors(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert images(cell) <= 1, f"{path.name}: a cell shows a picture twice:\n{cell.source}"
