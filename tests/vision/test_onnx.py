"""ONNX and torch.export outputs against the PyTorch model's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from lamina.core.seed import set_seed
from lamina.vision import ImageDataLoaders, Resize, vision_learner
from lamina.vision.onnx import export_onnx, export_torch


@pytest.fixture(scope="module")
def learn(tmp_path_factory: pytest.TempPathFactory) -> object:
    root = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    for label in ("a", "b", "c"):
        (root / label).mkdir()
        for i in range(4):
            pixels = rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / label / f"{i}.png")
    dls = ImageDataLoaders.from_folder(
        root, valid_pct=0.25, seed=0, item_tfms=Resize(16), bs=4, device="cpu", drop_last=True
    )
    set_seed(0)
    learn = vision_learner(dls, "resnet18", pretrained=False)
    learn.progress.silent = True
    learn.fit(1)  # BatchNorm running statistics away from their initial values
    return learn


def reference(learn, x: torch.Tensor) -> torch.Tensor:
    learn.model.eval()
    with torch.no_grad():
        return learn.model(x)


@pytest.mark.slow  # torch.export traces the model: a few seconds
# torch 2.11's loader warns about its own read-only buffers (later releases do not).
@pytest.mark.filterwarnings("ignore:The given buffer is not writable:UserWarning")
def test_torch_export_program_matches_the_model(learn, tmp_path: Path) -> None:
    path = export_torch(learn, tmp_path / "model.pt2")
    program = torch.export.load(str(path)).module()
    for batch_size in (1, 5):  # the batch dimension is dynamic
        x = torch.randn(batch_size, 3, 16, 16)
        torch.testing.assert_close(program(x), reference(learn, x), atol=1e-5, rtol=1e-5)
    assert learn.model.training is False  # restored to what it was (eval, from reference)


@pytest.mark.slow  # the ONNX exporter takes several seconds
def test_onnx_model_matches_the_model(learn, tmp_path: Path) -> None:
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    learn.model.train()
    path = export_onnx(learn, tmp_path / "model.onnx")
    assert learn.model.training  # the training mode is restored
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for batch_size in (1, 3):
        x = torch.randn(batch_size, 3, 16, 16)
        (out,) = session.run(None, {"input": x.numpy()})
        np.testing.assert_allclose(out, reference(learn, x).numpy(), atol=1e-4, rtol=1e-4)


def test_bad_arguments(learn, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="opset must be"):
        export_onnx(learn, tmp_path / "m.onnx", opset=3)
    with pytest.raises(ValueError, match="example must be a tensor"):
        export_torch(learn, tmp_path / "m.pt2", example=torch.zeros(3, 16, 16))
    assert not list(tmp_path.iterdir())
