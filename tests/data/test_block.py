"""DataBlock: items, splits, merged transforms, summary, DataFrame sources and export."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from lamina.data.blocks import CategoryBlock, RegressionBlock
from lamina.data.datablock import DataBlock, merge_tfms
from lamina.data.getters import ColReader, parent_label
from lamina.data.inference import InferencePipeline
from lamina.data.splitters import GrandparentSplitter, RandomSplitter
from lamina.vision.data.blocks import ImageBlock, MaskBlock, PointBlock, draft_hint
from lamina.vision.data.files import get_image_files
from lamina.vision.transforms.normalize import IntToFloat, Normalize
from lamina.vision.transforms.resize import Resize, ToTensor


def make_folder(root: Path, n: int = 4, size: tuple[int, int] = (20, 16)) -> Path:
    """root/{train,valid}/{cat,dog}/i.png, n per class and split; cats dark, dogs bright."""
    for split in ("train", "valid"):
        for label, level in (("cat", 40), ("dog", 200)):
            folder = root / split / label
            folder.mkdir(parents=True)
            for i in range(n):
                pixels = np.full((size[1], size[0], 3), level + i, np.uint8)
                Image.fromarray(pixels).save(folder / f"{i}.png")
    return root


def image_block(**kwargs: object) -> DataBlock:
    settings = {
        "blocks": (ImageBlock(), CategoryBlock()),
        "get_items": get_image_files,
        "get_y": parent_label,
        "splitter": GrandparentSplitter(),
        "item_tfms": Resize(8),
    }
    settings.update(kwargs)
    return DataBlock(**settings)  # type: ignore[arg-type]


def test_dataloaders_yield_image_and_label_batches(tmp_path: Path) -> None:
    dls = image_block().dataloaders(make_folder(tmp_path), bs=3, device="cpu", seed=0)
    xb, yb = dls.one_batch()
    assert xb.shape == (3, 3, 8, 8)
    assert xb.dtype == torch.float32
    assert xb.min() >= 0
    assert xb.max() <= 1
    assert yb.dtype == torch.int64
    assert dls.vocab == ["cat", "dog"]
    assert (dls.c, dls.n_inp, dls.kinds) == (2, 1, ("image", "category"))
    assert dls.loss_name == "cross_entropy_flat"
    assert dls.metric_names == ["accuracy"]
    assert (len(dls.train), len(dls.valid)) == (3, 3)
    # Labels follow the folders: dark images are cats.
    xv, yv = dls.one_batch(1)
    assert ((xv.mean((1, 2, 3)) < 0.5) == (yv == 0)).all()


def test_defaults_are_merged_and_affine_steps_fused() -> None:
    from lamina.vision.transforms.affine import Flip, Rotate

    dblock = image_block(batch_tfms=[Flip(), Rotate(), Normalize([0.5], [0.5])])
    names = [type(t).__name__ for t in dblock.batch_tfms]
    assert names == ["IntToFloat", "AffineWarp", "Normalize"]
    assert [type(t).__name__ for t in dblock.item_tfms] == ["ToTensor", "Resize"]
    custom = IntToFloat(div=100)
    assert merge_tfms([IntToFloat()], [custom]) == [custom]
    with pytest.raises(ValueError, match="lamina Transform"):
        merge_tfms([], ["resize"])  # type: ignore[list-item]


def test_draft_hint_is_the_largest_request() -> None:
    assert draft_hint([ToTensor()]) is None
    assert draft_hint([Resize(8), Resize((10, 4))]) == (8, 10)


def test_image_reading_uses_the_draft_hint(tmp_path: Path) -> None:
    Image.new("RGB", (400, 300), (10, 20, 30)).save(tmp_path / "a.jpg")
    dsets = DataBlock((ImageBlock(), RegressionBlock()), get_y=path_length, item_tfms=Resize(32),
                      splitter=RandomSplitter(0.0)).datasets([tmp_path / "a.jpg"])  # fmt: skip
    assert dsets.type_tfms[0][0].draft_size == (32, 32)
    assert dsets.train[0][0].shape == (3, 32, 32)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"blocks": []}, "at least one block"),
        ({"blocks": ["image"]}, "TransformBlock"),
        ({"n_inp": 3}, r"n_inp must be an integer in \[1, 2\]"),
        ({"get_y": [parent_label, parent_label]}, "get_y must hold 1 function"),
        ({"get_items": "files"}, "get_items must be callable"),
        ({"get_x": 5}, "get_x must be callable"),
    ],
)
def test_datablock_validates_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        image_block(**kwargs)


def test_blocks_may_be_given_as_classes(tmp_path: Path) -> None:
    dblock = image_block(blocks=(ImageBlock, CategoryBlock))
    assert dblock.kinds == ("image", "category")


def test_path_source_without_get_items_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no get_items was given"):
        image_block(get_items=None).datasets(tmp_path)


def test_summary_walks_every_step(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    text = image_block(batch_tfms=Normalize([0.5], [0.5])).summary(make_folder(tmp_path))
    assert capsys.readouterr().out.strip() == text
    for expected in ("get_items: 16 items", "8 train, 8 valid", "vocab (2)",
                     "type transform OpenImage -> PIL image mode=RGB size=(20, 16)",
                     "item transform Resize -> (PIL image mode=RGB size=(8, 8)",
                     "item transform ToTensor -> (tensor (3, 8, 8) uint8",
                     "collate 4 items -> (tensor (4, 3, 8, 8) uint8",
                     "batch transform Normalize -> (tensor (4, 3, 8, 8) float32"):  # fmt: skip
        assert expected in text


def broken_label(path: Path) -> str:
    raise RuntimeError(f"no label for {Path(path).name}")


def test_summary_names_the_failing_step(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(ValueError, match="getter broken_label failed"):
        image_block(get_y=broken_label).summary(make_folder(tmp_path))
    assert "FAILED at step 'build datasets'" in capsys.readouterr().out


def test_dataframe_source(tmp_path: Path) -> None:
    import pandas as pd

    make_folder(tmp_path)
    files = get_image_files(tmp_path)
    df = pd.DataFrame({"fname": [str(f.relative_to(tmp_path)) for f in files],
                       "label": [parent_label(f) for f in files],
                       "score": [float(i) for i in range(len(files))]})  # fmt: skip
    dblock = DataBlock(
        (ImageBlock(), RegressionBlock()),
        get_x=ColReader("fname", pref=tmp_path),
        get_y=ColReader("score"),
        splitter=RandomSplitter(0.25, seed=0),
        item_tfms=Resize(8),
    )
    dsets = dblock.datasets(df)
    assert (len(dsets.train), len(dsets.valid)) == (12, 4)
    assert dsets.train[0][1].dtype == torch.float32
    missing = DataBlock((ImageBlock(), CategoryBlock()), get_x=ColReader("fname", pref=tmp_path),
                        get_y=ColReader("labels"))  # fmt: skip
    with pytest.raises(ValueError, match=r"column 'labels' not found; available columns: \["):
        missing.datasets(df)


def test_export_config_rebuilds_inference_without_pickle(tmp_path: Path) -> None:
    make_folder(tmp_path)
    dls = image_block(batch_tfms=Normalize([0.5], [0.5])).dataloaders(tmp_path, bs=4, device="cpu")
    config = json.loads(json.dumps(dls.export_config()))
    assert config["vocab"] == ["cat", "dog"]
    assert config["blocks"][1] == {"name": "CategoryBlock", "args": {"vocab": None}}
    assert [t["name"] for t in config["batch_tfms"]] == ["IntToFloat", "Normalize"]
    pipe = InferencePipeline.from_config(config, device="cpu")
    path = tmp_path / "valid/dog/1.png"
    (from_path,) = pipe.one(path)
    (from_pil,) = pipe.one(Image.open(path))
    (from_array,) = pipe.one(np.asarray(Image.open(path)))
    (from_valid,) = dls.test_dl([path]).one_batch()
    assert from_path.shape == (1, 3, 8, 8)
    for other in (from_pil, from_array, from_valid):
        assert torch.equal(from_path, other)
    assert pipe.decode_target(torch.tensor(1)) == "dog"
    with pytest.raises(ValueError, match="not a lamina data config"):
        InferencePipeline.from_config({"format": "x"})


def test_masks_and_points_travel_with_their_image(tmp_path: Path) -> None:
    image = tmp_path / "img.png"
    Image.new("RGB", (16, 12), (0, 0, 0)).save(image)
    Image.fromarray(np.ones((12, 16), np.uint8)).save(tmp_path / "img_mask.png")
    masks = DataBlock((ImageBlock(), MaskBlock(["bg", "fg"])), get_y=mask_path,
                      splitter=RandomSplitter(0.0), item_tfms=Resize(8))  # fmt: skip
    mdls = masks.dataloaders([image], bs=1, device="cpu")
    xb, yb = mdls.one_batch()
    assert (xb.shape, yb.shape, yb.dtype) == ((1, 3, 8, 8), (1, 8, 8), torch.int64)
    assert (mdls.c, mdls.loss_kwargs) == (2, {"axis": 1})
    fig = mdls.show_batch(max_n=1)
    assert len(fig.axes[0].images) == 2  # the image, and its mask over it
    points = DataBlock((ImageBlock(), PointBlock()), get_y=corner_point,
                       splitter=RandomSplitter(0.0))  # fmt: skip
    pdls = points.dataloaders([image], bs=1, device="cpu")
    xb, pb = pdls.one_batch()
    assert torch.allclose(pb, torch.tensor([[[-1.0, -1.0], [1.0, 1.0]]]))
    dots = pdls.show_batch(max_n=1).axes[0].collections[0].get_offsets()
    assert np.allclose(dots, [[0.0, 0.0], [16.0, 12.0]])


def mask_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}_mask.png")


def corner_point(path: Path) -> list:
    return [[0.0, 0.0], [16.0, 12.0]]


def path_length(path: Path) -> int:
    return len(str(path))


def _centre_point(path: Path) -> list[list[float]]:
    return [[200.0, 150.0]]  # the centre of a 400x300 image, in its own pixels


def test_points_on_large_jpegs_stay_in_the_full_images_coordinates(tmp_path: Path) -> None:
    # Regression: draft decoding shrank the image but not its points, which left [-1, 1].
    Image.new("RGB", (400, 300), (90, 120, 150)).save(tmp_path / "photo.jpg", quality=90)
    block = DataBlock(blocks=(ImageBlock, PointBlock), get_items=get_image_files,
                      get_y=_centre_point, splitter=RandomSplitter(0.0, seed=0),
                      item_tfms=Resize(64, method="squish"))  # fmt: skip
    image, points = block.datasets(tmp_path).train[0]
    assert image.shape == (3, 64, 64)
    torch.testing.assert_close(points, torch.zeros(1, 2), atol=1e-4, rtol=0)
