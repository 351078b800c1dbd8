"""The package's layering: a lower layer never imports a higher one."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "lamina"
RANK = {"core": 0, "data": 1, "models": 1, "optim": 1, "train": 2,
        "vision": 3, "text": 3, "tabular": 3, "collab": 3, "cli": 4, "serve": 4}  # fmt: skip


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


def test_applications_never_import_each_other() -> None:
    applications = {name for name, rank in RANK.items() if rank == 3}
    violations = []
    for path in PACKAGE.rglob("*.py"):
        layer = path.relative_to(PACKAGE).parts[0]
        if layer not in applications:
            continue
        for name in _imports(path):
            target = _layer(name)
            if target in applications and target != layer:
                violations.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert violations == []


# Words that belong to one application's data: none may appear in the shared data layer, in code
# or prose, so a new domain can read data/ without finding another domain's special cases.
DOMAIN_WORDS = re.compile(
    r"image|\bPIL\b|jpe?g|\.png|affine|pixel|photo|draft|\bmasks?\b|\bpoints\b|tabular|"
    r"rating|\bcollab\b|collaborative|movie|\btokens?\b|\bwords?\b",
    re.IGNORECASE,
)
DOMAIN_FREE_EXCEPTIONS = {"__init__.py": 2}  # its docstring names what the layer does not know


def test_the_data_layer_names_no_application_domain() -> None:
    found = []
    for path in sorted((PACKAGE / "data").rglob("*.py")):
        hits = [
            f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}"
            for number, line in enumerate(path.read_text().splitlines(), 1)
            if DOMAIN_WORDS.search(line)
        ]
        allowed = DOMAIN_FREE_EXCEPTIONS.get(path.name, 0) if path.parent.name == "data" else 0
        if len(hits) > allowed:
            found += hits
    assert found == []


def test_no_star_imports_in_the_package() -> None:
    offenders = [str(path) for path in PACKAGE.rglob("*.py") if "import *" in path.read_text()]
    assert offenders == []
