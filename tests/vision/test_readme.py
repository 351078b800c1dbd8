"""The README's first example, run verbatim: it must train the digits to 97% accuracy."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

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
    threads = torch.get_num_threads()
    torch.set_num_threads(2)  # the README promises its speed on two cores
    namespace: dict = {"__name__": "__readme__"}
    try:
        exec(compile(code, str(README), "exec"), namespace)
    finally:
        torch.set_num_threads(threads)
    learn = namespace["learn"]
    assert (tmp_path / "data" / "digits" / ".complete").exists()
    assert learn.validate()[1] >= 0.97
