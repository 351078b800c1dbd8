"""Fixtures for the server tests: a small export and live servers on 127.0.0.1."""

from __future__ import annotations

import re
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


def _sentences(text: str) -> list[str]:
    pieces = re.split(r"(?<=[.!?])\s+", re.sub(r"\s+", " ", text))
    return [piece.strip() for piece in pieces if len(piece.split()) >= 6]


@pytest.fixture(scope="session")
def text_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny AWD-LSTM classifier of prose (a novel) against Python's help texts, one epoch."""
    from pydoc_data.topics import topics

    import pandas as pd
    import torch

    from lamina.text import TextDataLoaders, text_classifier_learner

    data = Path(__file__).parents[1] / "text" / "data" / "botchan_excerpt.txt"
    novel = _sentences(data.read_text(encoding="utf-8"))[:60]
    python = [s for name in sorted(topics)[:20] for s in _sentences(topics[name])][:60]
    frame = pd.DataFrame({"text": novel + python,
                          "label": ["novel"] * len(novel) + ["python"] * len(python)})  # fmt: skip
    dls = TextDataLoaders.from_df(frame, text_col="text", label_col="label", seed=0, bs=16,
                                  min_freq=1, device="cpu")  # fmt: skip
    torch.manual_seed(0)
    learn = text_classifier_learner(dls, "awd_lstm", metrics="accuracy",
                                    config={"emb_sz": 32, "n_hid": 64, "n_layers": 2})  # fmt: skip
    learn.progress.silent = True
    learn.unfreeze()
    learn.fit_one_cycle(1, 1e-2)
    return learn.export(tmp_path_factory.mktemp("text") / "clas.lamina")


@pytest.fixture(scope="session")
def digit_png(digits_export: Path) -> Path:
    return sorted((digits_export.parent / "images" / "3").glob("*.png"))[0]


@pytest.fixture
def serve_app() -> Callable[..., Any]:
    """`serve_app(model_path, **options)`: a context manager giving a live server's URL."""
    from lamina.serve import create_app

    return lambda model, **options: live_server(create_app(model, **options))
