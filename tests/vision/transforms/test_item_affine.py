"""ItemAffineResize: the batch warp folded into the item resize, and DataBlock's fuse_augment."""

from __future__ import annotations

import json
import pickle
import random
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from lamina.data.blocks import CategoryBlock
from lamina.data.datablock import DataBlock
from lamina.data.getters import parent_label
from lamina.data.inference import InferencePipeline
from lamina.data.splitters import RandomSplitter
from lamina.data.transform import transform_from_config, transform_to_config
from lamina.vision.data.blocks import ImageBlock
from lamina.vision.data.files import get_image_files
from lamina.vision.transforms.affine import (
    AffineWarp,
    flip_matrix,
    rotation_matrix,
    sampling_grid,
    warp_matrix,
    zoom_matrix,
)
from lamina.vision.transforms.augment import aug_transforms
from lamina.vision.transforms.item_affine import ItemAffineResize, _pad, fuse_augment_tfms
from lamina.vision.transforms.resize import RandomResizedCrop, Resize

IMAGE = ("image",)


def smooth_image(width: int = 160, height: int = 120) -> Image.Image:
    """Gradients and a slow wave: resampling differences stay small on it."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    red = 120 + 100 * np.sin(xs / width * 3) * np.cos(ys / height * 2)
    pixels = np.stack([red, 255 * xs / width, 255 * ys / height], -1)
    return Image.fromarray(pixels.clip(0, 255).astype(np.uint8))


def as_tensor(img: Image.Image) -> torch.Tensor:
    return torch.from_numpy(np.asarray(img).astype(np.float32))


def forced(tfm: ItemAffineResize, matrix: torch.Tensor) -> ItemAffineResize:
    """`tfm` drawing `matrix` every time."""
    tfm._draws.next = lambda: matrix.double().numpy()  # type: ignore[method-assign]
    return tfm


def batch_path(img: Image.Image, resize: Resize, matrix: torch.Tensor) -> torch.Tensor:
    """The unfused result: resize, then warp the float image as AffineWarp does (H, W, C)."""
    (resized,) = resize((img,), IMAGE, 1)
    x = as_tensor(resized).permute(2, 0, 1)[None]  # (1, C, H, W)
    grid = sampling_grid(matrix[None], tuple(x.shape[-2:]))
    return F.grid_sample(x, grid, "bilinear", "reflection", True)[0].permute(1, 2, 0)


ROTATE = rotation_matrix(torch.tensor([10.0]))[0]
ZOOM = zoom_matrix(torch.tensor([1.1]), torch.tensor([[0.05, -0.05]]))[0]
WARP = warp_matrix(torch.tensor([[0.2, -0.1]]))[0]
ALL = (
    flip_matrix(torch.tensor([True]), torch.tensor([False]))
    @ rotation_matrix(torch.tensor([-8.0]))
    @ zoom_matrix(torch.tensor([1.05]), torch.tensor([[0.02, 0.03]]))
    @ warp_matrix(torch.tensor([[0.1, 0.15]]))
)[0]


def test_identity_is_the_plain_resize() -> None:
    img = smooth_image()
    resize = Resize(64, "squish")
    (plain,) = resize((img,), IMAGE, 1)
    (same,) = forced(ItemAffineResize(resize, AffineWarp()), torch.eye(3))((img,), IMAGE, 0)
    assert np.array_equal(np.asarray(same), np.asarray(plain))
    # A rotation too small to see goes through the one-call warp: still the resize, nearly.
    tiny = rotation_matrix(torch.tensor([1e-4]))[0]
    (warped,) = forced(ItemAffineResize(resize, AffineWarp()), tiny)((img,), IMAGE, 0)
    assert (as_tensor(warped) - as_tensor(plain)).abs().max() <= 3


def test_forced_flip_is_the_mirrored_resize() -> None:
    img = smooth_image()
    resize = Resize((48, 64), "squish")
    (plain,) = resize((img,), IMAGE, 1)
    flip = flip_matrix(torch.tensor([True]), torch.tensor([False]))[0]
    (flipped,) = forced(ItemAffineResize(resize, AffineWarp()), flip)((img,), IMAGE, 0)
    assert flipped.size == (64, 48)
    assert np.array_equal(np.asarray(flipped), np.asarray(plain)[:, ::-1])


@pytest.mark.parametrize("matrix", [ROTATE, ZOOM, WARP, ALL], ids=["rotate", "zoom", "warp", "all"])
@pytest.mark.parametrize("size", [64, (48, 64)])
def test_one_call_matches_resize_then_batch_warp(matrix: torch.Tensor, size: object) -> None:
    img, resize = smooth_image(), Resize(size, "squish")
    expected = batch_path(img, resize, matrix)
    (fused,) = forced(ItemAffineResize(resize, AffineWarp()), matrix)((img,), IMAGE, 0)
    difference = (as_tensor(fused) - expected).abs()
    assert difference.max() <= 5  # grey levels, reflected borders included
    assert difference.mean() <= 1


def dot_sample(x: float, y: float) -> tuple[Image.Image, torch.Tensor]:
    """A black image with a soft white dot centred at pixel coordinates (x, y)."""
    ys, xs = np.mgrid[0:96, 0:128] + 0.5
    pixels = 255 * np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * 3.0**2))
    img = Image.fromarray(np.repeat(pixels[..., None], 3, -1).astype(np.uint8))
    return img, torch.tensor([[x, y]])


def centroid(img: Image.Image) -> torch.Tensor:
    weight = as_tensor(img)[..., 0]
    weight = weight * (weight > 40)
    ys, xs = torch.meshgrid(torch.arange(img.height), torch.arange(img.width), indexing="ij")
    total = weight.sum()
    return torch.stack([(weight * (xs + 0.5)).sum(), (weight * (ys + 0.5)).sum()]) / total


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize(
    "resize", [Resize(64, "squish"), Resize(48), Resize(48, "pad"), RandomResizedCrop(48, 0.5)]
)
def test_points_follow_the_content(seed: int, resize: object) -> None:
    torch.manual_seed(seed)
    random.seed(seed)
    img, points = dot_sample(70.0, 40.0)
    tfm = ItemAffineResize(resize, AffineWarp(max_rotate=30.0, max_warp=0.3, min_zoom=0.8))
    out, moved = tfm((img, points), ("image", "points"), 0)
    assert out.size == (resize.size[1], resize.size[0])
    x, y = moved[0].tolist()
    if 4 < x < out.width - 4 and 4 < y < out.height - 4:  # the whole dot is in the picture
        assert torch.allclose(centroid(out), moved[0].float(), atol=0.5)


def test_masks_keep_their_labels_and_move_with_the_image() -> None:
    labels = np.zeros((120, 160), np.uint8)
    labels[20:60, 30:90], labels[70:110, 100:150] = 3, 7
    for mode in ("L", "P"):
        mask = Image.fromarray(labels)
        if mode == "P":
            mask.putpalette([0] * 768)
        tfm = ItemAffineResize(Resize(64, "squish"), AffineWarp(mask_fill=5))
        _, out = forced(tfm, ALL)((smooth_image(), mask), ("image", "mask"), 0)
        assert out.mode == mode
        assert set(np.unique(np.asarray(out))) <= {0, 3, 5, 7}
        (expected,) = Resize(64, "squish")((mask,), ("mask",), 1)
        values = torch.from_numpy(np.array(expected)).float()[None, None]
        grid = sampling_grid(ALL[None], (64, 64))
        unfused = F.grid_sample(values, grid, "nearest", "zeros", True)[0, 0]
        inside = torch.from_numpy(np.array(out) != 5)
        agree = (unfused == torch.from_numpy(np.array(out)).float())[inside].float().mean()
        assert agree > 0.97  # labels differ only along edges, by rounding


def test_draws_are_affine_warps_seeded_draws() -> None:
    affine = AffineWarp()
    tfm = ItemAffineResize(Resize((48, 64)), affine)
    torch.manual_seed(3)
    expected = affine.draw_matrices(64, 48, 64)[0]
    torch.manual_seed(3)
    drawn = torch.from_numpy(np.stack([tfm._draws.next() for _ in range(64)])).float()
    assert torch.equal(drawn, expected)
    torch.manual_seed(3)  # a reseed starts again from the generator, not from the block
    assert np.array_equal(tfm._draws.next(), expected[0].double().numpy())


def test_augmented_images_vary_like_the_batch_warp() -> None:
    torch.manual_seed(0)
    img = smooth_image()
    tfm = ItemAffineResize(Resize(64, "squish"), AffineWarp())
    (plain,) = Resize(64, "squish")((img,), IMAGE, 1)
    outputs = [as_tensor(tfm((img,), IMAGE, 0)[0]) for _ in range(200)]
    unchanged = sum(bool(torch.equal(out, as_tensor(plain))) for out in outputs)
    mirrored = sum(bool(torch.equal(out, as_tensor(plain).flip(1))) for out in outputs)
    # Nothing drawn: 0.5 * 0.25 ** 3 = 0.8%; a flip alone: the same.
    assert unchanged + mirrored <= 12
    assert all(out.shape == (64, 64, 3) for out in outputs)


@pytest.mark.parametrize("resize", [Resize(32), Resize(32, "pad"), RandomResizedCrop(32)])
@pytest.mark.parametrize("split_idx", [1, None])
def test_other_splits_are_exactly_the_resize(resize: object, split_idx: int | None) -> None:
    img = smooth_image()
    (plain,) = resize((img,), IMAGE, split_idx)
    (fused,) = ItemAffineResize(resize, AffineWarp())((img,), IMAGE, split_idx)
    assert np.array_equal(np.asarray(fused), np.asarray(plain))


def test_crops_and_pads_give_the_output_size() -> None:
    img = smooth_image()
    for resize in (Resize((24, 40)), Resize((24, 40), "pad"), RandomResizedCrop((24, 40))):
        tfm = forced(ItemAffineResize(resize, AffineWarp()), ALL)
        assert tfm((img,), IMAGE, 0)[0].size == (40, 24)
        assert tfm.draft_size() == resize.draft_size()


def test_arguments_are_validated() -> None:
    with pytest.raises(ValueError, match="resize must be a Resize or RandomResizedCrop"):
        ItemAffineResize(AffineWarp(), AffineWarp())
    with pytest.raises(ValueError, match="affine must be an AffineWarp with size=None"):
        ItemAffineResize(Resize(8), AffineWarp(size=8))
    with pytest.raises(ValueError, match="at least 2x2"):
        ItemAffineResize(Resize((1, 8)), AffineWarp())
    with pytest.raises(TypeError, match="before ToTensor"):
        ItemAffineResize(Resize(8), AffineWarp())((torch.zeros(3, 8, 8),), IMAGE, 0)


def test_config_round_trips_through_json_and_spawn_pickling() -> None:
    tfm = ItemAffineResize(RandomResizedCrop(16), AffineWarp(max_rotate=20.0, pad_mode="border"))
    config = json.loads(json.dumps(transform_to_config(tfm)))
    assert config["name"] == "ItemAffineResize"
    rebuilt = transform_from_config(config)
    assert rebuilt.config() == tfm.config()
    tfm._draws.next()
    # Spawned workers receive a pickled copy; it must not carry the main process's draws.
    copy = pickle.loads(pickle.dumps(tfm))
    assert copy.config() == tfm.config()
    assert copy._draws._pending == []


def make_folder(root: Path, n: int = 12) -> Path:
    for i in range(n):
        folder = root / ("ab"[i % 2])
        folder.mkdir(parents=True, exist_ok=True)
        smooth_image(40 + i, 30).save(folder / f"{i}.png")
    return root


def image_block(**kwargs: object) -> DataBlock:
    return DataBlock(
        (ImageBlock(), CategoryBlock()),
        get_items=get_image_files,
        get_y=parent_label,
        splitter=RandomSplitter(0.25, seed=0),
        **kwargs,
    )


def test_datablock_fuses_on_the_cpu_unless_told_not_to(tmp_path: Path) -> None:
    root = make_folder(tmp_path)
    dblock = image_block(item_tfms=Resize(16), batch_tfms=aug_transforms())
    fused = dblock.dataloaders(root, bs=4, device="cpu", seed=0, fuse_augment="auto")
    assert any(isinstance(t, ItemAffineResize) for t in fused.item_tfms.tfms)
    assert not any(isinstance(t, AffineWarp) for t in fused.batch_tfms.tfms)
    xb, _ = fused.one_batch()
    assert xb.shape == (4, 3, 16, 16)
    kept = dblock.dataloaders(root, bs=4, device="cpu")  # the default: no folding
    assert not any(isinstance(t, ItemAffineResize) for t in kept.item_tfms.tfms)
    assert any(isinstance(t, AffineWarp) for t in kept.batch_tfms.tfms)
    # The DataBlock itself keeps its transforms: fusing is per loader.
    assert any(isinstance(t, AffineWarp) for t in dblock.batch_tfms)
    # Validation batches are the same either way.
    assert torch.equal(fused.one_batch(1)[0], kept.one_batch(1)[0])


def test_fuse_augment_choices() -> None:
    item, batch = [Resize(16)], aug_transforms()
    assert fuse_augment_tfms(item, batch, "auto", "cuda") == (item, batch)
    assert isinstance(fuse_augment_tfms(item, batch, True, "cuda")[0][0], ItemAffineResize)
    assert fuse_augment_tfms([], batch, "auto", "cpu") == ([], batch)
    with pytest.raises(ValueError, match="fuse_augment=True, but the item transforms hold 0"):
        fuse_augment_tfms([], batch, True, "cpu")
    with pytest.raises(ValueError, match="its size is set"):
        fuse_augment_tfms(item, aug_transforms(size=8), True, "cpu")
    with pytest.raises(ValueError, match="fuse_augment must be one of"):
        fuse_augment_tfms(item, batch, "yes", "cpu")


def test_exported_inference_is_the_plain_resize(tmp_path: Path) -> None:
    root = make_folder(tmp_path)
    dblock = image_block(item_tfms=Resize(16), batch_tfms=aug_transforms())
    fused = dblock.dataloaders(root, bs=4, device="cpu", fuse_augment=True)
    kept = dblock.dataloaders(root, bs=4, device="cpu", fuse_augment=False)
    config = json.loads(json.dumps(fused.export_config()))
    assert [t["name"] for t in config["item_tfms"]][0] == "ItemAffineResize"
    pipe = InferencePipeline.from_config(config, device="cpu")
    reference = InferencePipeline.from_config(kept.export_config(), device="cpu")
    files = get_image_files(root)[:3]
    assert torch.equal(pipe.batch(files)[0], reference.batch(files)[0])


@pytest.mark.parametrize("pad_mode", ["reflection", "border"])
@pytest.mark.parametrize("widths", [(0, 0, 0, 0), (3, 0, 0, 2), (0, 4, 5, 0), (6, 4, 6, 4)])
def test_padding_matches_numpy(pad_mode: str, widths: tuple[int, int, int, int]) -> None:
    array = np.random.default_rng(0).integers(0, 255, (5, 7, 3), np.uint8)
    left, top, right, bottom = widths
    mode = "reflect" if pad_mode == "reflection" else "edge"
    expected = np.pad(array, ((top, bottom), (left, right), (0, 0)), mode=mode)
    assert np.array_equal(np.asarray(_pad(Image.fromarray(array), widths, pad_mode)), expected)


def test_strong_zoom_out_reflects_like_the_batch_warp() -> None:
    img, resize = smooth_image(), Resize(64, "squish")
    matrix = zoom_matrix(torch.tensor([0.3]), torch.zeros(1, 2))[0]
    expected = batch_path(img, resize, matrix)
    (fused,) = forced(ItemAffineResize(resize, AffineWarp()), matrix)((img,), IMAGE, 0)
    # Mirrored about the source's edge pixels rather than the canvas's: lines drift apart.
    assert (as_tensor(fused) - expected).abs().mean() <= 10
    red = as_tensor(fused)[..., 0]
    assert red.min() >= 15  # the red wave stays in [20, 220]: nothing is filled with black


@pytest.mark.slow
def test_spawned_workers_repeat_folded_augmentation_for_a_seed(tmp_path: Path) -> None:
    root = make_folder(tmp_path)
    dblock = image_block(item_tfms=Resize(16), batch_tfms=aug_transforms())
    runs = [
        list(
            dblock.dataloaders(
                root,
                bs=3,
                device="cpu",
                seed=5,
                num_workers=1,
                multiprocessing_context="spawn",
                fuse_augment=True,
            ).train
        )  # fmt: skip
        for _ in range(2)
    ]
    assert len(runs[0]) == 3
    for (x1, y1), (x2, y2) in zip(*runs, strict=True):
        assert torch.equal(x1, x2)
        assert torch.equal(y1, y2)
