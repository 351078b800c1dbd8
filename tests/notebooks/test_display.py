"""In a fresh Jupyter kernel, every plotting call shows its picture once and summaries show as
text blocks: the notebook experience checked on a real kernel's outputs."""

from __future__ import annotations

import sys

import pytest

from tests.notebooks.kernel import errors, execute, images, new_notebook, texts

pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

SETUP = """
import sys
from pathlib import Path
import numpy as np
from PIL import Image
import torch
from lamina import accuracy
from lamina.data import CategoryBlock, DataBlock, GrandparentSplitter, parent_label
from lamina.models import simple_cnn
from lamina.train.learner import Learner
from lamina.vision import ImageBlock, ImageDataLoaders
from lamina.vision.interpret import ClassificationInterpretation
from lamina.vision.show import show_results

rng = np.random.default_rng(0)
for split in ("train", "valid"):
    for label, colour in (("red", 0), ("blue", 2)):
        folder = Path("data") / split / label
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(6):
            pixels = rng.integers(0, 60, (16, 16, 3), dtype=np.uint8)
            pixels[..., colour] = 200
            Image.fromarray(pixels).save(folder / f"{i}.png")
torch.manual_seed(0)
torch.set_num_threads(1)
dls = ImageDataLoaders.from_folder("data", bs=4, device="cpu", seed=0)
learn = Learner(dls, simple_cnn((3, 8, 16), num_classes=2), metrics=accuracy)
print(sys.executable)
"""

CELLS = {
    "setup": SETUP,
    "last_line": "dls.show_batch()",
    "not_last_line": "shown = dls.show_batch(ds_idx=1)\nx = 1",
    "in_loop": "for seed in (0, 1):\n    dls.show_batch(max_n=2, seed=seed)",
    "fit_and_plot": "learn.fit(1, 1e-2)\nlearn.recorder.plot_loss(skip_start=0)",
    "pyplot_loaded": "import matplotlib.pyplot as plt\nlearn.recorder.plot_sched()",
    "assigned_then_shown": "fig = show_results(learn, max_n=4)\nfig",
    "interpretation": "interp = ClassificationInterpretation.from_learner(learn)\n"
    "interp.plot_confusion_matrix()\ninterp.plot_top_losses(k=4)",
    "learner_summary": "learn.summary()",
    "datablock_summary": "dblock = DataBlock((ImageBlock(), CategoryBlock()), "
    "get_items=lambda p: sorted(Path(p).glob('*/*/*.png')), get_y=parent_label, "
    "splitter=GrandparentSplitter())\ndblock.summary('data')",
    "training_loop": "learn.show_training_loop()",
}


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> dict:
    cwd = tmp_path_factory.mktemp("kernel")
    notebook = execute(new_notebook(*CELLS.values()), cwd)
    assert not errors(notebook), errors(notebook)
    return dict(zip(CELLS, notebook.cells, strict=True))


def test_the_kernel_runs_this_python(executed: dict) -> None:
    assert any(sys.executable in text for text in texts(executed["setup"]))


@pytest.mark.parametrize(
    ("cell", "pictures"),
    [
        ("setup", 0),
        ("last_line", 1),
        ("not_last_line", 1),
        ("in_loop", 2),
        ("fit_and_plot", 1),
        ("pyplot_loaded", 1),
        ("assigned_then_shown", 1),
        ("interpretation", 2),
    ],
)
def test_each_plotting_call_shows_one_picture(executed: dict, cell: str, pictures: int) -> None:
    assert images(executed[cell]) == pictures
    assert not any("<Figure size" in text for text in texts(executed[cell]))


@pytest.mark.parametrize("cell", ["learner_summary", "datablock_summary", "training_loop"])
def test_summaries_show_once_as_text_blocks(executed: dict, cell: str) -> None:
    shown = [text for text in texts(executed[cell]) if text.strip()]
    assert len(shown) == 1, shown
    assert shown[0].count("\n") >= 3
    assert "\\n" not in shown[0]  # real line breaks, not a quoted str's escapes
    assert not shown[0].startswith("'")
