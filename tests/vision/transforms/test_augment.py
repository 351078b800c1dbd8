"""aug_transforms: the default set, and a whole batch pipeline on a segmentation batch."""

from __future__ import annotations

import json
import time

import pytest
import torch

from lamina.data.transform import Pipeline
from lamina.vision.transforms.affine import AffineWarp, Flip, Rotate
from lamina.vision.transforms.augment import aug_transforms
from lamina.vision.transforms.erasing import RandomErasing
from lamina.vision.transforms.lighting import Lighting
from lamina.vision.transforms.normalize import IntToFloat, Normalize, imagenet_stats

KINDS = ("image", "mask", "points", "category")


def _batch(bs: int = 8, size: int = 16) -> tuple[torch.Tensor, ...]:
    images = torch.randint(0, 256, (bs, 3, size, size), dtype=torch.uint8)
    masks = torch.randint(0, 4, (bs, size, size))
    points = torch.rand(bs, 3, 2) * 2 - 1
    return images, masks, points, torch.randint(0, 10, (bs,))


def test_default_is_one_affine_warp_and_one_lighting() -> None:
    tfms = aug_transforms()
    assert [type(t) for t in tfms] == [AffineWarp, Lighting]
    affine = tfms[0].config()
    assert (affine["max_rotate"], affine["max_zoom"], affine["max_warp"]) == (10.0, 1.1, 0.2)
    assert tfms[1].config()["max_lighting"] == 0.2


def test_mult_scales_magnitudes() -> None:
    affine, lighting = aug_transforms(mult=2.0)
    assert affine.config()["max_rotate"] == 20.0
    assert affine.config()["max_warp"] == pytest.approx(0.4)
    assert lighting.config()["max_lighting"] == pytest.approx(0.4)


def test_zero_magnitudes_drop_steps() -> None:
    none = aug_transforms(do_flip=False, max_rotate=0.0, max_zoom=1.0, max_warp=0.0)
    assert [type(t) for t in none] == [Lighting]
    assert (
        aug_transforms(max_lighting=0.0, do_flip=False, max_rotate=0.0, max_zoom=1.0, max_warp=0.0)
        == []
    )
    assert [type(t) for t in aug_transforms(mult=0.0, do_flip=False, size=8)] == [AffineWarp]


def test_extra_affine_steps_merge_into_the_one_pass() -> None:
    tfms = aug_transforms(do_flip=False, xtra_tfms=[Flip(p=0.3), RandomErasing()])
    assert [type(t) for t in tfms] == [AffineWarp, Lighting, RandomErasing]
    assert tfms[0].config()["p_flip"] == 0.3
    # A second rotation cannot share the first one's draw, so it stays a separate step.
    assert len(aug_transforms(xtra_tfms=[Rotate()])) == 3


def test_full_pipeline_on_a_segmentation_batch() -> None:
    images, masks, points, labels = _batch()
    pipe = Pipeline([IntToFloat(), *aug_transforms(size=12), Normalize(*imagenet_stats)])
    out_images, out_masks, out_points, out_labels = pipe((images, masks, points, labels), KINDS, 0)
    assert out_images.shape == (8, 3, 12, 12)
    assert out_images.dtype == torch.float32
    assert out_masks.shape == (8, 12, 12)
    assert out_masks.dtype == torch.int64
    assert out_points.shape == points.shape
    assert out_labels is labels
    valid = pipe((images, masks, points, labels), KINDS, 1)
    assert torch.equal(valid[1], masks)
    assert torch.equal(valid[2], points)


def test_pipeline_config_round_trips_and_reproduces() -> None:
    batch = _batch()
    pipe = Pipeline([IntToFloat(), *aug_transforms(max_rotate=20.0, size=(8, 10))])
    rebuilt = Pipeline.from_config(json.loads(json.dumps(pipe.to_config())))
    assert rebuilt.to_config() == pipe.to_config()
    torch.manual_seed(5)
    first = pipe(batch, KINDS, 0)
    torch.manual_seed(5)
    second = rebuilt(batch, KINDS, 0)
    for a, b in zip(first, second, strict=True):
        assert torch.equal(a, b)


def test_timing_of_the_default_set_on_a_64_batch() -> None:
    images = torch.rand(64, 3, 64, 64)
    pipe = Pipeline(aug_transforms())
    pipe((images,), ("image",), 0)
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        pipe((images,), ("image",), 0)
        runs.append(time.perf_counter() - start)
    print(f"AffineWarp + Lighting on (64, 3, 64, 64): best {min(runs) * 1e3:.1f} ms")
    assert min(runs) < 1.0
