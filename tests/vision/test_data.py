"""ImageDataLoaders and SegmentationDataLoaders factories."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from lamina.vision import ImageDataLoaders, Resize, SegmentationDataLoaders, aug_transforms

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "hymenoptera"


def class_folders(root: Path, splits: tuple[str, ...] = ("train", "valid"), n: int = 3) -> Path:
    for split in splits:
        for label, level in (("cat", 30), ("dog", 220)):
            folder = root / split / label if split else root / label
            folder.mkdir(parents=True)
            for i in range(n):
                Image.new("RGB", (16, 16), (level, level - i, level)).save(folder / f"{i}.png")
    return root


def test_from_folder_with_train_and_valid_folders(tmp_path: Path) -> None:
    class_folders(tmp_path, ("train", "valid", "test"))
    dls = ImageDataLoaders.from_folder(
        tmp_path, item_tfms=Resize(8), batch_tfms=aug_transforms(), bs=4, device="cpu", seed=0
    )
    assert (len(dls.train.dataset), len(dls.valid.dataset)) == (6, 6)
    assert dls.vocab == ["cat", "dog"]
    batches = list(dls.train)
    assert [len(xb) for xb, _ in batches] == [4, 2]
    xb, yb = batches[0]
    assert xb.shape == (4, 3, 8, 8)
    assert yb.dtype == torch.int64


def test_from_folder_random_split_is_seeded(tmp_path: Path) -> None:
    class_folders(tmp_path, ("",), n=5)
    first = ImageDataLoaders.from_folder(tmp_path, valid_pct=0.2, seed=1, device="cpu")
    again = ImageDataLoaders.from_folder(tmp_path, valid_pct=0.2, seed=1, device="cpu")
    other = ImageDataLoaders.from_folder(tmp_path, valid_pct=0.2, seed=7, device="cpu")
    assert len(first.valid.dataset) == 2
    assert first.valid.dataset.names == again.valid.dataset.names
    assert first.valid.dataset.names != other.valid.dataset.names


def test_from_folder_grey_and_given_vocab(tmp_path: Path) -> None:
    class_folders(tmp_path)
    dls = ImageDataLoaders.from_folder(
        tmp_path, img_mode="L", vocab=["dog", "cat"], bs=2, device="cpu", item_tfms=Resize(8)
    )
    xb, yb = dls.one_batch(1)
    assert xb.shape == (2, 1, 8, 8)
    assert dls.vocab == ["dog", "cat"]
    assert ((xb.mean((1, 2, 3)) > 0.5) == (yb == 0)).all()


def test_from_folder_validates(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="valid_pct must be a fraction"):
        ImageDataLoaders.from_folder(tmp_path, valid_pct=1.5)
    with pytest.raises(ValueError, match="is not a folder"):
        ImageDataLoaders.from_folder(tmp_path / "missing")


def label_from_name(name: str) -> str:
    return name.split("_")[0]


def _flat_files(root: Path) -> list[str]:
    names = []
    for label, level in (("cat", 30), ("dog", 220)):
        for i in range(4):
            names.append(f"{label}_{i}.png")
            Image.new("RGB", (12, 12), (level, level, level)).save(root / names[-1])
    return names


def test_from_name_func_name_re_and_lists(tmp_path: Path) -> None:
    names = _flat_files(tmp_path)
    common = {"valid_pct": 0.25, "seed": 0, "device": "cpu", "item_tfms": Resize(8), "bs": 2}
    by_func = ImageDataLoaders.from_name_func(tmp_path, names, label_from_name, **common)
    by_re = ImageDataLoaders.from_name_re(tmp_path, names, r"^([a-z]+)_\d+", **common)
    labels = [label_from_name(name) for name in names]
    by_list = ImageDataLoaders.from_lists(tmp_path, names, labels, **common)
    for dls in (by_func, by_re, by_list):
        assert dls.vocab == ["cat", "dog"]
        assert len(dls.valid.dataset) == 2
        xb, yb = dls.one_batch()
        assert xb.shape == (2, 3, 8, 8)
    with pytest.raises(ValueError, match="differ in length"):
        ImageDataLoaders.from_lists(tmp_path, names, labels[:2])


def test_from_df_and_csv(tmp_path: Path) -> None:
    import pandas as pd

    images = tmp_path / "images"
    images.mkdir()
    names = _flat_files(images)
    df = pd.DataFrame({"name": [n[:-4] for n in names], "tags": ["a b", "a"] * 4,
                       "is_valid": [False] * 6 + [True] * 2})  # fmt: skip
    dls = ImageDataLoaders.from_df(df, tmp_path, folder="images", suff=".png", label_delim=" ",
                                   valid_col="is_valid", device="cpu", bs=3)  # fmt: skip
    assert dls.vocab == ["a", "b"]
    assert dls.loss_name == "bce_with_logits_flat"
    assert len(dls.valid.dataset) == 2
    _, yb = dls.one_batch()
    assert yb.shape == (3, 2)
    df.to_csv(tmp_path / "labels.csv", index=False)
    from_csv = ImageDataLoaders.from_csv(tmp_path, fn_col="name", label_col=1, folder="images",
                                         suff=".png", seed=0, device="cpu")  # fmt: skip
    assert from_csv.vocab == ["a", "a b"]
    with pytest.raises(ValueError, match=r"column 'label' not found; available columns"):
        ImageDataLoaders.from_csv(tmp_path, label_col="label")


def mask_of(path: Path) -> Path:
    return path.parent / "masks" / path.name


def test_segmentation_from_label_func(tmp_path: Path) -> None:
    (tmp_path / "masks").mkdir()
    names = []
    for i in range(4):
        names.append(f"{i}.png")
        Image.new("RGB", (12, 10), (i * 40, 0, 0)).save(tmp_path / names[-1])
        mask = np.zeros((10, 12), np.uint8)
        mask[:, 6:] = 1
        Image.fromarray(mask).save(tmp_path / "masks" / names[-1])
    dls = SegmentationDataLoaders.from_label_func(
        tmp_path, names, mask_of, codes=["bg", "fg"], valid_pct=0.25, seed=0, bs=2,
        item_tfms=Resize((10, 12)), device="cpu",
    )  # fmt: skip
    xb, yb = dls.one_batch(1)
    assert (xb.shape, yb.shape) == ((1, 3, 10, 12), (1, 10, 12))
    assert yb[0, :, :6].sum() == 0
    assert (yb[0, :, 6:] == 1).all()
    assert dls.c == 2


@pytest.mark.shared
@pytest.mark.skipif(not SHARED.is_dir(), reason="hymenoptera is absent")
def test_hymenoptera_from_folder() -> None:
    dls = ImageDataLoaders.from_folder(SHARED, valid="val", item_tfms=Resize(32), bs=16,
                                       device="cpu", seed=0)  # fmt: skip
    assert dls.vocab == ["ants", "bees"]
    xb, yb = dls.one_batch()
    assert xb.shape == (16, 3, 32, 32)


def test_a_learner_trains_on_from_folder_batches(tmp_path: Path) -> None:
    from torch import nn

    from lamina import Learner

    class_folders(tmp_path, n=4)
    dls = ImageDataLoaders.from_folder(tmp_path, item_tfms=Resize(8), bs=4, device="cpu", seed=0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, dls.c))
    learn = Learner(dls, model, lr=0.02, metrics="accuracy")
    learn.fit(6)
    preds, targs = learn.get_preds()
    assert preds.shape == (8, 2)
    assert learn.validate()[1] == 1.0
    train_preds, _ = learn.get_preds(ds_idx=0)
    assert len(train_preds) == 8
