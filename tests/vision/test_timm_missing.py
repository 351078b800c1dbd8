"""Without timm, timm architectures fail at once and say how to install it (main suite)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lamina import load_learner
from lamina.core.files import load_tensors_json, save_tensors_json
from lamina.models import create_body
from lamina.vision import ImageDataLoaders, Resize, vision_learner


@pytest.fixture
def no_timm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "timm", None)  # `import timm` raises ImportError


@pytest.fixture(scope="module")
def dls(tmp_path_factory: pytest.TempPathFactory) -> object:
    root = tmp_path_factory.mktemp("squares")
    rng = np.random.default_rng(0)
    for label in ("a", "b"):
        (root / label).mkdir()
        for i in range(4):
            Image.fromarray(rng.integers(0, 255, (12, 12, 3), dtype=np.uint8)).save(
                root / label / f"{i}.png"
            )
    return ImageDataLoaders.from_folder(root, valid_pct=0.5, seed=0, item_tfms=Resize(12), bs=2,
                                        device="cpu")  # fmt: skip


def test_vision_learner_and_create_body_say_pip_install_timm(no_timm, dls) -> None:
    for pretrained in (False, True):
        with pytest.raises(ImportError, match=r"'timm/resnet18' needs .*pip install timm"):
            vision_learner(dls, "timm/resnet18", pretrained=pretrained)
    with pytest.raises(ImportError, match=r"timm.resnet18' needs .*pip install timm"):
        create_body("timm:resnet18")


def test_load_learner_names_the_timm_version_to_install(no_timm, dls, tmp_path: Path) -> None:
    learn = vision_learner(dls, "simple_cnn", pretrained=False)
    path = learn.export(tmp_path / "plain.lamina")
    tensors, info = load_tensors_json(path)
    # the same file as if its model had been a timm one
    info["spec"].update(arch="timm/resnet18", timm="resnet18", timm_version="1.0.29")
    timm_path = tmp_path / "timm.lamina"
    save_tensors_json(timm_path, tensors, info)
    with pytest.raises(ImportError, match=r"timm architecture 'resnet18' \(made with timm "
                                          r"1\.0\.29\).*pip install timm==1\.0\.29"):  # fmt: skip
        load_learner(timm_path, cpu=True)
