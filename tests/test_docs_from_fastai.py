"""docs/from-fastai.md: its lamina code runs, and every lamina name it mentions exists."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from lamina.core.fastai_names import HINTS, FastaiName

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "from-fastai.md"
TEXT = GUIDE.read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", TEXT, flags=re.DOTALL)


def _resolve(dotted: str) -> object:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):  # the longest importable module, then attributes
        try:
            obj: object = importlib.import_module(".".join(parts[:cut]))
            break
        except ImportError:
            continue
    for attr in parts[cut:]:
        obj = getattr(obj, attr, None)
    return obj


def test_the_guide_has_lamina_and_fastai_blocks() -> None:
    firsts = [block.splitlines()[0] for block in BLOCKS]
    assert firsts.count("# lamina") >= 5
    assert firsts.count("# fastai") >= 4
    assert set(firsts) == {"# lamina", "# fastai"}  # every block says which library it is


def test_the_lamina_blocks_run_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the port saves checkpoints and an export
    namespace: dict = {}
    for block in BLOCKS:
        if block.startswith("# lamina"):
            exec(compile(block, str(GUIDE), "exec"), namespace)  # noqa: S102
    assert (tmp_path / "penguins.lamina").is_file()
    assert namespace["LossEvery"](2).n == 2


def test_every_lamina_name_in_the_guide_exists() -> None:
    names = set(re.findall(r"\blamina(?:\.\w+)+", TEXT))
    assert len(names) > 30
    missing = []
    for dotted in sorted(names):
        obj = _resolve(dotted.rstrip("."))
        if obj is None or isinstance(obj, FastaiName):
            missing.append(dotted)
    assert missing == []


def test_every_fastai_name_lamina_spells_differently_is_in_the_guide() -> None:
    # (names only at another place, as ImageDataLoaders in lamina.vision, are the import table's)
    renamed = [name for name, hint in HINTS.items() if not hint.startswith("from lamina.")]
    absent = [name for name in renamed if f"`{name}" not in TEXT]
    assert absent == []
