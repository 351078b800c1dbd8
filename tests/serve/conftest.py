"""Fixtures for the server tests: a small export and live servers on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.serve.helpers import digit_subset, live_server

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("multipart")


@pytest.fixture(scope="session")
def digits_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An (untrained) ResNet-18 digits classifier exported as a file; predictions are read
    from the loaded learner, so the tests need no training."""
    from lamina.vision import ImageDataLoaders, Resize, vision_learner

    root = tmp_path_factory.mktemp("digits")
    path = digit_subset(root / "images")
    dls = ImageDataLoaders.from_folder(path, valid_pct=0.25, seed=0, item_tfms=Resize(16), bs=8)
    learn = vision_learner(dls, "resnet18", pretrained=False)
    return learn.export(root / "digits.lamina")


@pytest.fixture(scope="session")
def digit_png(digits_export: Path) -> Path:
    return sorted((digits_export.parent / "images" / "3").glob("*.png"))[0]


@pytest.fixture
def serve_app() -> Callable[..., Any]:
    """`serve_app(model_path, **options)`: a context manager giving a live server's URL."""
    from lamina.serve import create_app

    return lambda model, **options: live_server(create_app(model, **options))
