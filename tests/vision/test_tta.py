"""Test-time augmentation against get_preds on the same seeded pipelines."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from lamina.core.seed import set_seed
from lamina.data.item_dataset import ItemDataset
from lamina.models import simple_cnn
from lamina.train.learner import Learner
from lamina.vision import ImageDataLoaders, Resize, aug_transforms
from lamina.vision.tta import tta, tta_loader


def noisy_folders(root: Path, n: int = 6, size: int = 20) -> Path:
    """Two classes: a bright bar at the top (top) or at the bottom (bottom), plus noise.

    (Top and bottom, not left and right: the default augmentations flip horizontally.)
    """
    rng = np.random.default_rng(0)
    for split in ("train", "valid"):
        for label in ("bottom", "top"):
            (root / split / label).mkdir(parents=True)
            for i in range(n):
                pixels = rng.integers(0, 90, (size, size, 3), dtype=np.uint8)
                rows = slice(2, 9) if label == "top" else slice(size - 9, size - 2)
                pixels[rows, 4:16] = 230
                Image.fromarray(pixels).save(root / split / label / f"{i}.png")
    return root


def make_learner(path: Path, augment: bool = True, bs: int = 4) -> Learner:
    dls = ImageDataLoaders.from_folder(
        path,
        item_tfms=Resize(16) if augment else None,
        batch_tfms=aug_transforms() if augment else None,
        bs=bs,
        device="cpu",
        seed=0,
    )
    learn = Learner(dls, simple_cnn((3, 8, 16), num_classes=2))
    learn.progress.silent = True
    return learn


def test_tta_equals_the_formula_on_seeded_passes(tmp_path: Path) -> None:
    learn = make_learner(noisy_folders(tmp_path))
    set_seed(5)
    preds, targs = tta(learn, n=3, beta=0.25)
    set_seed(5)
    plain, plain_targs = learn.get_preds()
    valid = learn.dls.valid.dataset
    # The training pipeline over the validation items, built by hand.
    as_train = ItemDataset(
        valid.samples, valid.names, valid.kinds, valid.type_tfms, valid.item_tfms, split_idx=0
    )
    augmented_dl = learn.dls.valid.new(dataset=as_train)
    passes = [learn.get_preds(dl=augmented_dl)[0] for _ in range(3)]
    assert not torch.allclose(passes[0], plain, atol=1e-4)  # the passes really are augmented
    assert not torch.allclose(passes[0], passes[1], atol=1e-4)
    expected = 0.25 * torch.stack(passes).mean(0) + 0.75 * plain
    torch.testing.assert_close(preds, expected)
    assert torch.equal(targs, plain_targs)
    assert preds.shape == (12, 2)
    torch.testing.assert_close(preds.sum(1), torch.ones(12))  # probabilities

    set_seed(5)
    maxed, _ = tta(learn, n=3, use_max=True)
    torch.testing.assert_close(maxed, torch.stack([plain, *passes]).amax(0))
    set_seed(5)
    only_aug, _ = tta(learn, n=3, beta=None)
    torch.testing.assert_close(only_aug, torch.stack(passes).mean(0))


def test_tta_without_random_transforms_equals_plain_predictions(tmp_path: Path) -> None:
    learn = make_learner(noisy_folders(tmp_path, size=16), augment=False)
    plain, targs = learn.get_preds()
    for beta in (0.25, 1.0):
        preds, tta_targs = tta(learn, n=2, beta=beta)
        torch.testing.assert_close(preds, plain)
        assert torch.equal(tta_targs, targs)


def test_tta_loader_keeps_order_and_switches_to_training_transforms(tmp_path: Path) -> None:
    learn = make_learner(noisy_folders(tmp_path))
    dl = tta_loader(learn.dls.valid)
    assert dl.split_idx == 0
    assert not dl.shuffle
    assert dl.dataset.names == learn.dls.valid.dataset.names
    assert learn.dls.valid.dataset.split_idx == 1  # the original is untouched


def test_tta_on_a_trained_model_is_not_worse(tmp_path: Path) -> None:
    learn = make_learner(noisy_folders(tmp_path, n=16))
    set_seed(0)
    learn.fit_one_cycle(6, 1e-2)
    plain, targs = learn.get_preds()
    preds, _ = tta(learn, n=4)
    plain_acc = (plain.argmax(1) == targs).float().mean()
    tta_acc = (preds.argmax(1) == targs).float().mean()
    assert plain_acc >= 0.75  # the model learnt the task
    assert tta_acc >= plain_acc - 2 / len(targs)


def test_tta_rejects_bad_arguments(tmp_path: Path) -> None:
    learn = make_learner(noisy_folders(tmp_path, n=1))
    with pytest.raises(ValueError, match="n must be a positive integer, got 0"):
        tta(learn, n=0)
    with pytest.raises(ValueError, match="beta must be a number in"):
        tta(learn, beta=1.5)
    with pytest.raises(TypeError, match="BlockDataLoader"):
        tta(learn, dl=torch.utils.data.DataLoader([1, 2]))
