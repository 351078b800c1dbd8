"""Bad input: each case gets a clear error naming the file or row, or is skipped on request."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from lamina.data.blocks import CategoryBlock
from lamina.data.datablock import DataBlock
from lamina.data.getters import ColReader, parent_label
from lamina.data.item_dataset import ItemError
from lamina.data.splitters import GrandparentSplitter, RandomSplitter
from lamina.vision.data.blocks import ImageBlock
from lamina.vision.data.files import get_image_files
from lamina.vision.transforms.resize import Resize


def good_folder(root: Path) -> Path:
    for split in ("train", "valid"):
        for label in ("a", "b"):
            folder = root / split / label
            folder.mkdir(parents=True)
            for i in range(2):
                Image.new("RGB", (10, 8), (30 * i, 60, 90)).save(folder / f"{i}.png")
    return root


def truncated_jpeg(path: Path) -> None:
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)).save(path)
    path.write_bytes(path.read_bytes()[:300])


def zero_bytes(path: Path) -> None:
    path.write_bytes(b"")


def text_file(path: Path) -> None:
    path.write_text("not an image at all")


BAD_FILES = {"truncated": truncated_jpeg, "zero-byte": zero_bytes, "text": text_file}


def dblock(**kwargs: object) -> DataBlock:
    settings = {
        "blocks": (ImageBlock(), CategoryBlock()),
        "get_items": get_image_files,
        "get_y": parent_label,
        "splitter": GrandparentSplitter(),
        "item_tfms": Resize(8),
    }
    settings.update(kwargs)
    return DataBlock(**settings)  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_a_bad_image_names_its_file_when_read(tmp_path: Path, kind: str) -> None:
    root = good_folder(tmp_path)
    bad = root / "train" / "a" / "bad.jpg"
    BAD_FILES[kind](bad)
    dls = dblock().dataloaders(root, bs=8, device="cpu", shuffle=False)
    with pytest.raises(
        ItemError, match=rf"{bad.name}: reading failed: ImageReadError: cannot read"
    ):
        list(dls.train)


def test_a_bad_image_in_a_worker_is_reported_by_name(tmp_path: Path) -> None:
    root = good_folder(tmp_path)
    zero_bytes(root / "train" / "b" / "empty.png")
    dls = dblock().dataloaders(root, bs=8, num_workers=1, device="cpu", shuffle=False)
    with pytest.raises(ItemError, match=r"empty\.png: reading failed"):
        list(dls.train)


def test_skip_bad_items_reports_how_many_and_which(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    root = good_folder(tmp_path)
    for index, (kind, make) in enumerate(sorted(BAD_FILES.items())):
        make(root / ("train" if index else "valid") / "a" / f"{kind}.jpg")
    dls = dblock().dataloaders(root, bs=8, device="cpu", skip_bad_items=True)
    assert sorted(Path(name).name for name, _ in dls.skipped) == [
        "text.jpg", "truncated.jpg", "zero-byte.jpg"
    ]  # fmt: skip
    assert all("cannot read image" in reason for _, reason in dls.skipped)
    assert "skipped 3 unreadable item(s) of 11" in capsys.readouterr().out
    assert sum(len(xb) for xb, _ in dls.train) == 4
    assert sum(len(xb) for xb, _ in dls.valid) == 4


def test_an_empty_folder_names_the_folder_and_extensions(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("no images here")
    with pytest.raises(
        ValueError, match=r"no items found by get_image_files in .* with extensions"
    ):
        dblock().dataloaders(tmp_path)


def failing_label(path: Path) -> str:
    if Path(path).name == "1.png":
        raise KeyError("unknown animal")
    return "x"


def test_a_label_function_that_raises_names_the_item(tmp_path: Path) -> None:
    root = good_folder(tmp_path)
    with pytest.raises(ItemError, match=r"1\.png: getter failing_label failed: KeyError"):
        dblock(get_y=failing_label).datasets(root)


def test_a_csv_missing_a_named_column(tmp_path: Path) -> None:
    import pandas as pd

    (tmp_path / "labels.csv").write_text("fname,label\na.png,x\n")
    df = pd.read_csv(tmp_path / "labels.csv")
    block = dblock(get_items=None, get_x=ColReader("file"), get_y=ColReader("label"),
                   splitter=RandomSplitter(0.0))  # fmt: skip
    with pytest.raises(ValueError, match=r"column 'file' not found; available columns: \['fname'"):
        block.datasets(df)


def _save_modes(root: Path) -> dict[str, Path]:
    paths = {}
    base = np.zeros((8, 10, 3), np.uint8)
    base[..., 0] = 200
    paths["cmyk"] = root / "cmyk.jpg"
    Image.fromarray(base).convert("CMYK").save(paths["cmyk"], quality=100)
    paths["16bit"] = root / "deep.png"
    Image.fromarray(np.full((8, 10), 65535 // 2, np.uint16)).save(paths["16bit"])
    paths["palette"] = root / "palette.png"
    Image.fromarray(base).convert("P", palette=Image.Palette.ADAPTIVE).save(paths["palette"])
    paths["rgba"] = root / "rgba.png"
    Image.new("RGBA", (10, 8), (200, 0, 0, 0)).save(paths["rgba"])
    paths["grey"] = root / "grey.png"
    Image.new("L", (10, 8), 90).save(paths["grey"])
    return paths


@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_unusual_image_modes_convert_through_the_pipeline(tmp_path: Path, mode: str) -> None:
    paths = _save_modes(tmp_path)
    names = list(paths)
    block = DataBlock((ImageBlock(mode), CategoryBlock()), get_y=_stem,
                      splitter=RandomSplitter(0.0), item_tfms=Resize(8))  # fmt: skip
    dls = block.dataloaders(list(paths.values()), bs=len(paths), device="cpu", shuffle=False)
    xb, yb = dls.one_batch()
    channels = 3 if mode == "RGB" else 1
    assert xb.shape == (len(paths), channels, 8, 8)
    by_name = {dls.vocab[int(y)]: x for x, y in zip(xb, yb, strict=True)}
    pixel = {name: by_name[paths[name].stem][:, 4, 4] * 255 for name in names}
    if mode == "RGB":
        assert torch.allclose(pixel["cmyk"], torch.tensor([200.0, 0, 0]), atol=6)
        assert torch.allclose(pixel["palette"], torch.tensor([200.0, 0, 0]), atol=30)
        assert torch.allclose(pixel["rgba"], torch.tensor([255.0, 255, 255]), atol=1)
        assert torch.allclose(pixel["grey"], torch.tensor([90.0, 90, 90]), atol=1)
    assert torch.allclose(pixel["16bit"], torch.full((channels,), 127.0), atol=1)


def _stem(path: Path) -> str:
    return Path(path).stem
