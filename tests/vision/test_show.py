"""show_results: titles coloured by correctness, masks side by side, points, saving to PNG."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from lamina.data.datablock import DataBlock
from lamina.data.splitters import RandomSplitter
from lamina.models import simple_cnn
from lamina.train.learner import Learner
from lamina.vision import ImageDataLoaders, SegmentationDataLoaders
from lamina.vision.data.blocks import ImageBlock, PointBlock
from lamina.vision.show import RIGHT, WRONG, batch_of_items, show_results
from tests.vision.test_tta import noisy_folders

matplotlib.use("Agg")

CODES = ["background", "red", "green"]


def segmentation_files(root: Path, n: int = 8, size: int = 16) -> list[Path]:
    """Images whose red pixels are class 1 and green pixels class 2, with their masks."""
    rng = np.random.default_rng(0)
    root.mkdir(parents=True, exist_ok=True)
    files = []
    for i in range(n):
        mask = rng.integers(0, 3, (size, size)).astype(np.uint8)
        pixels = rng.integers(0, 40, (size, size, 3), dtype=np.uint8)
        pixels[mask == 1, 0] = 220
        pixels[mask == 2, 1] = 220
        Image.fromarray(pixels).save(root / f"{i}.png")
        Image.fromarray(mask).save(root / f"{i}_mask.png")
        files.append(Path(f"{i}.png"))
    return files


def mask_of(path: Path) -> Path:
    return path.with_name(f"{path.stem}_mask.png")


def segmentation_learner(root: Path) -> Learner:
    files = segmentation_files(root)
    dls = SegmentationDataLoaders.from_label_func(
        root, files, mask_of, codes=CODES, valid_pct=0.5, seed=0, bs=4, device="cpu"
    )
    learn = Learner(dls, nn.Conv2d(3, len(CODES), 1))
    learn.progress.silent = True
    return learn


def classifier(root: Path) -> Learner:
    dls = ImageDataLoaders.from_folder(noisy_folders(root, n=4), bs=4, device="cpu", seed=0)
    learn = Learner(dls, simple_cnn((3, 8, 16), num_classes=2))
    learn.progress.silent = True
    return learn


def test_show_results_titles_say_actual_and_predicted_in_green_or_red(tmp_path: Path) -> None:
    learn = classifier(tmp_path)
    learn.fit(1, 1e-2)
    preds, targs = learn.get_preds()
    fig = show_results(learn, max_n=6, ncols=4, shuffle=False)
    axes = fig.axes
    assert len(axes) == 8  # two rows of four, the last two blank
    vocab = learn.dls.vocab
    for ax, pred, targ in zip(axes[:6], preds.argmax(1), targs, strict=False):
        assert ax.get_title() == f"{vocab[targ]} / {vocab[pred]}"
        assert ax.title.get_color() == (RIGHT if pred == targ else WRONG)
        assert len(ax.images) == 1
    assert all(not ax.images for ax in axes[6:])


def test_show_results_saves_to_a_png(tmp_path: Path) -> None:
    fig = show_results(classifier(tmp_path / "data"))
    out = tmp_path / "results.png"
    fig.savefig(out)
    assert out.stat().st_size > 1000
    with Image.open(out) as image:
        assert image.format == "PNG"


def test_show_results_draws_image_target_and_prediction_masks(tmp_path: Path) -> None:
    learn = segmentation_learner(tmp_path)
    fig = show_results(learn, max_n=3, shuffle=False)
    assert len(fig.axes) == 9  # three rows: image | target | prediction
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[:3] == ["image", "target", "prediction"]
    batch = batch_of_items(learn.dls.valid, [0])
    target_mask = fig.axes[1].images[1].get_array()
    assert np.array_equal(np.asarray(target_mask), batch[1][0].numpy())
    with torch.no_grad():
        predicted = learn.model(batch[0]).argmax(1)[0]
    assert np.array_equal(np.asarray(fig.axes[2].images[1].get_array()), predicted.numpy())


def corner_points(path: Path) -> list:
    return [[4.0, 4.0], [12.0, 8.0]]


def test_show_results_plots_target_and_predicted_points(tmp_path: Path) -> None:
    noisy_folders(tmp_path, n=2, size=16)
    items = sorted(tmp_path.glob("*/*/*.png"))
    dblock = DataBlock((ImageBlock(), PointBlock()), get_y=corner_points,
                       splitter=RandomSplitter(0.5, seed=0))  # fmt: skip
    dls = dblock.dataloaders(items, bs=4, device="cpu")
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 16 * 16, 4), nn.Unflatten(1, (2, 2)))
    learn = Learner(dls, model)
    fig = show_results(learn, max_n=2, ncols=2, shuffle=False)
    target, predicted = fig.axes[0].collections
    assert np.allclose(target.get_offsets(), [[4.0, 4.0], [12.0, 8.0]], atol=1e-4)
    batch = batch_of_items(dls.valid, [0])
    with torch.no_grad():
        expected = (model(batch[0])[0] + 1) / 2 * 16
    assert np.allclose(predicted.get_offsets(), expected.numpy(), atol=1e-4)


def test_show_results_rejects_bad_arguments(tmp_path: Path) -> None:
    learn = classifier(tmp_path)
    with pytest.raises(ValueError, match="max_n must be a positive integer, got 0"):
        show_results(learn, max_n=0)
