"""Block loaders: reproducible order and augmentation, decoding, showing, new, workers."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from lamina.data.block_dataloaders import BlockDataLoaders
from lamina.data.block_loader import BlockDataLoader
from lamina.data.blocks import CategoryBlock
from lamina.data.datablock import DataBlock
from lamina.data.getters import parent_label
from lamina.data.splitters import RandomSplitter
from lamina.vision.data.blocks import ImageBlock
from lamina.vision.data.files import get_image_files
from lamina.vision.transforms.augment import aug_transforms
from lamina.vision.transforms.normalize import Normalize
from lamina.vision.transforms.resize import RandomResizedCrop, Resize


def make_images(root: Path, n: int = 12) -> Path:
    rng = np.random.default_rng(0)
    for i in range(n):
        folder = root / ("ab"[i % 2])
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (12, 14, 3), np.uint8)).save(folder / f"{i}.png")
    return root


def loaders(root: Path, seed: int | None, **kwargs: object) -> BlockDataLoaders:
    dblock = DataBlock(
        (ImageBlock(), CategoryBlock()),
        get_items=get_image_files,
        get_y=parent_label,
        splitter=RandomSplitter(0.25, seed=0),
        item_tfms=RandomResizedCrop(8),
        batch_tfms=[*aug_transforms(), Normalize([0.5], [0.25])],
    )
    return dblock.dataloaders(root, bs=3, device="cpu", seed=seed, **kwargs)


def epoch(dl: BlockDataLoader) -> list[tuple[torch.Tensor, ...]]:
    return list(dl)


def test_same_seed_same_batches_other_seed_other_batches(tmp_path: Path) -> None:
    root = make_images(tmp_path)
    first, again = epoch(loaders(root, 1).train), epoch(loaders(root, 1).train)
    other = epoch(loaders(root, 2).train)
    assert len(first) == 3
    for (x1, y1), (x2, y2) in zip(first, again, strict=True):
        assert torch.equal(x1, x2)
        assert torch.equal(y1, y2)
    assert not all(torch.equal(a[0], b[0]) for a, b in zip(first, other, strict=True))


def test_each_epoch_differs_and_validation_is_fixed(tmp_path: Path) -> None:
    dls = loaders(make_images(tmp_path), 3)
    one, two = epoch(dls.train), epoch(dls.train)
    assert not torch.equal(one[0][0], two[0][0])
    v1, v2 = epoch(dls.valid), epoch(dls.valid)
    assert torch.equal(v1[0][0], v2[0][0])


def test_len_drop_last_and_new(tmp_path: Path) -> None:
    dls = loaders(make_images(tmp_path, n=14), 0)
    assert len(dls.train.dataset) == 10
    assert len(dls.train) == 3  # 10 = 3 x 3 + 1: a last training batch of one is dropped
    assert sum(len(batch[0]) for batch in dls.train) == 9
    assert len(dls.train.new(drop_last=True)) == 3
    assert len(dls.train.new(bs=4)) == 3  # 4 + 4 + 2: a partial batch of two is kept
    assert len(dls.valid.new(bs=3)) == math.ceil(len(dls.valid.dataset) / 3)
    plain = dls.train.new(shuffle=False, drop_last=False)
    assert not plain.shuffle
    assert plain.dataset is dls.train.dataset
    with pytest.raises(ValueError, match="unknown settings"):
        dls.train.new(batch_size=3)


def test_batches_are_plain_tensor_tuples(tmp_path: Path) -> None:
    batch = loaders(make_images(tmp_path), 0).one_batch()
    assert isinstance(batch, tuple)
    assert all(type(t) is torch.Tensor for t in batch)


def test_decode_undoes_batch_tfms_and_maps_labels(tmp_path: Path) -> None:
    root = make_images(tmp_path)
    dblock = DataBlock((ImageBlock(), CategoryBlock()), get_items=get_image_files,
                       get_y=parent_label, splitter=RandomSplitter(0.25, seed=0),
                       item_tfms=Resize(8), batch_tfms=Normalize([0.5], [0.25]))  # fmt: skip
    dls = dblock.dataloaders(root, bs=3, device="cpu", shuffle=False)
    batch = dls.one_batch(1)
    images, labels = dls.valid.decode(batch)
    assert images.dtype == torch.uint8
    assert torch.equal(images[0], dls.valid.dataset[0][0])
    assert labels == [dls.vocab[int(i)] for i in batch[1]]
    assert set(labels) <= {"a", "b"}


def test_show_batch_returns_a_figure(tmp_path: Path) -> None:
    dls = loaders(make_images(tmp_path), 0)
    fig = dls.show_batch(max_n=2)
    assert len([ax for ax in fig.axes if ax.images]) == 2
    titles = {ax.get_title() for ax in fig.axes if ax.images}
    assert titles <= {"a", "b"}
    fig.savefig(tmp_path / "batch.png")
    assert (tmp_path / "batch.png").stat().st_size > 0


def test_test_dl_gives_inputs_only_unless_labelled(tmp_path: Path) -> None:
    root = make_images(tmp_path)
    dls = loaders(root, 0)
    files = get_image_files(root)[:5]
    batches = list(dls.test_dl(files))
    assert [len(b) for b in batches] == [1, 1]
    assert batches[0][0].shape == (3, 3, 8, 8)
    labelled = dls.test_dl(files, with_labels=True).one_batch()
    assert [dls.vocab[int(i)] for i in labelled[1]] == [parent_label(f) for f in files[:3]]


def test_loader_validates_arguments(tmp_path: Path) -> None:
    dataset = loaders(make_images(tmp_path), 0).train.dataset
    with pytest.raises(ValueError, match="bs must be a positive integer, got 0"):
        BlockDataLoader(dataset, bs=0)
    with pytest.raises(ValueError, match="num_workers must be a non-negative integer"):
        BlockDataLoader(dataset, num_workers=-1)


@pytest.mark.slow
def test_spawned_workers_repeat_batches_for_a_seed(tmp_path: Path) -> None:
    root = make_images(tmp_path)
    first = epoch(loaders(root, 5, num_workers=1, multiprocessing_context="spawn").train)
    second = epoch(loaders(root, 5, num_workers=1, multiprocessing_context="spawn").train)
    assert len(first) == 3
    for (x1, y1), (x2, y2) in zip(first, second, strict=True):
        assert torch.equal(x1, x2)
        assert torch.equal(y1, y2)


def test_batch_tfms_run_in_cpu_workers_with_the_same_results(tmp_path: Path) -> None:
    root = make_images(tmp_path)
    in_workers = loaders(root, 4, num_workers=1)
    assert in_workers.train.batch_tfms_in_workers
    assert not loaders(root, 4).train.batch_tfms_in_workers
    main = in_workers.train.new(batch_tfms_in_workers=False)
    assert not main.batch_tfms_in_workers
    xb, yb = in_workers.valid.one_batch()
    xm, ym = main.new(dataset=in_workers.valid.dataset, shuffle=False).one_batch()
    assert torch.allclose(xb, xm)
    assert torch.equal(yb, ym)
    assert epoch(in_workers.train)[0][0].dtype == torch.float32
