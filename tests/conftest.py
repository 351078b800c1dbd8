"""Shared test fixtures: fixed seeds and a silent progress display."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest
import torch

# LAMINA_SHARED_DATASETS points elsewhere, e.g. from a git worktree that has no ../shared
SHARED_DATASETS = Path(
    os.environ.get("LAMINA_SHARED_DATASETS")
    or Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
)


# Tiny test models run fastest on one thread, and several test processes may share the cores.
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seeded() -> None:
    torch.manual_seed(0)


@pytest.fixture
def shared_datasets() -> Path:
    """The folder of shared real data sets (tests using it are marked `shared`)."""
    return SHARED_DATASETS


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip_gpu = pytest.mark.skip(reason="needs a CUDA device")
    skip_shared = pytest.mark.skip(reason="../shared/datasets is absent")
    # timm imports torchvision, which here installs only beside another torch than the main
    # environment's: `make test-timm` runs these tests in a second environment, .venv-timm.
    skip_timm = pytest.mark.skip(reason="timm is not installed here: make test-timm runs these")
    has_timm = importlib.util.find_spec("timm") is not None
    for item in items:
        if "gpu" in item.keywords and not torch.cuda.is_available():
            item.add_marker(skip_gpu)
        if "shared" in item.keywords and not SHARED_DATASETS.is_dir():
            item.add_marker(skip_shared)
        if item.get_closest_marker("timm") is not None and not has_timm:
            item.add_marker(skip_timm)
