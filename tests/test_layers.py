"""The package's layering: a lower layer never imports a higher one."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "lamina"
RANK = {"core": 0, "data": 1, "models": 1, "optim": 1, "train": 2,
        "vision": 3, "text": 3, "tabular": 3, "collab": 3}  # fmt: skip


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "lamina" and parts[1] in RANK else None


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def test_lower_layers_never_import_higher_ones() -> None:
    violations = []
    for path in PACKAGE.rglob("*.py"):
        layer = path.relative_to(PACKAGE).parts[0]
        if layer not in RANK:
            continue
        for name in _imports(path):
            target = _layer(name)
            if target is not None and RANK[target] > RANK[layer]:
                violations.append(f"{path.relative_to(PACKAGE)} imports {name}")
            if target is not None and RANK[target] == RANK[layer] == 1 and target != layer:
                violations.append(f"{path.relative_to(PACKAGE)} imports sibling layer {name}")
    assert violations == []


def test_no_star_imports_in_the_package() -> None:
    offenders = [str(path) for path in PACKAGE.rglob("*.py") if "import *" in path.read_text()]
    assert offenders == []
