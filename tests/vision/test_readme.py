"""The README's first example, run verbatim: it must train the digits to 97% accuracy."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def first_python_block(text: str) -> str:
    match = re.search(r"```python\n(.*?)```", text, flags=re.DOTALL)
    assert match is not None, "README.md has no ```python block"
    return match.group(1)


def test_readme_example_runs_verbatim(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAMINA_HOME", str(tmp_path))
    code = first_python_block(README.read_text(encoding="utf-8"))
    assert "vision_learner" in code
    assert "fit_one_cycle" in code
    namespace: dict = {"__name__": "__readme__"}
    # One thread (as conftest sets): several test processes may share the cores, and torch's
    # threads slow to a crawl when more of them than cores compete.
    exec(compile(code, str(README), "exec"), namespace)
    learn = namespace["learn"]
    assert (tmp_path / "data" / "digits" / ".complete").exists()
    assert learn.validate()[1] >= 0.97
