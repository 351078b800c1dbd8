"""IntToFloat, Normalize and RandomErasing on hand-built batches."""

from __future__ import annotations

import json

import pytest
import torch

from lamina.data.transform import Pipeline
from lamina.vision.transforms.erasing import RandomErasing, erase_mask
from lamina.vision.transforms.normalize import IntToFloat, Normalize, imagenet_stats

IMAGE_MASK = ("image", "mask")


def _uint8_batch() -> tuple[torch.Tensor, torch.Tensor]:
    images = torch.randint(0, 256, (4, 3, 8, 8), dtype=torch.uint8)
    masks = torch.randint(0, 5, (4, 8, 8))
    return images, masks


def test_int_to_float_scales_images_and_leaves_masks() -> None:
    images, masks = _uint8_batch()
    out_images, out_masks = IntToFloat()((images, masks), IMAGE_MASK)
    assert out_images.dtype == torch.float32
    torch.testing.assert_close(out_images, images.float() / 255)
    assert out_masks is masks


def test_int_to_float_decode_returns_original_uint8() -> None:
    images, masks = _uint8_batch()
    tfm = IntToFloat()
    decoded, _ = tfm.decode_sample(tfm((images, masks), IMAGE_MASK), IMAGE_MASK)
    assert decoded.dtype == torch.uint8
    assert torch.equal(decoded, images)


def test_int_to_float_leaves_float_images() -> None:
    images = torch.rand(2, 3, 4, 4)
    assert IntToFloat()((images,), ("image",))[0] is images


def test_int_to_float_rejects_bad_div() -> None:
    with pytest.raises(ValueError, match="div"):
        IntToFloat(div=0)


def test_normalize_standardizes_each_channel() -> None:
    mean, std = (0.2, 0.5, 0.7), (0.1, 0.2, 0.05)
    images = torch.randn(64, 3, 16, 16) * torch.tensor(std).view(1, 3, 1, 1)
    images = images + torch.tensor(mean).view(1, 3, 1, 1)
    (out,) = Normalize(mean, std)((images,), ("image",))
    torch.testing.assert_close(out.mean(dim=(0, 2, 3)), torch.zeros(3), atol=0.02, rtol=0)
    torch.testing.assert_close(out.std(dim=(0, 2, 3)), torch.ones(3), atol=0.02, rtol=0)


def test_normalize_decode_round_trips() -> None:
    images = torch.rand(4, 3, 8, 8)
    tfm = Normalize.from_stats(*imagenet_stats)
    encoded = tfm((images,), ("image",))
    assert not torch.allclose(encoded[0], images)
    torch.testing.assert_close(tfm.decode_sample(encoded, ("image",))[0], images)


def test_normalize_single_statistic_applies_to_all_channels() -> None:
    images = torch.full((2, 3, 4, 4), 0.75)
    (out,) = Normalize([0.5], [0.25])((images,), ("image",))
    torch.testing.assert_close(out, torch.ones_like(images))


def test_normalize_preserves_dtype_and_leaves_other_kinds() -> None:
    images = torch.rand(2, 3, 4, 4, dtype=torch.float64)
    labels = torch.tensor([1, 2])
    out, out_labels = Normalize(*imagenet_stats)((images, labels), ("image", "category"))
    assert out.dtype == torch.float64
    assert out_labels is labels


@pytest.mark.parametrize(
    ("mean", "std", "match"),
    [([0.5, 0.5], [0.1], "equal length"), ([], [], "equal length"), ([0.5], [0.0], "positive")],
)
def test_normalize_rejects_bad_stats(mean: list, std: list, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Normalize(mean, std)


def test_normalize_rejects_channel_mismatch_and_int_images() -> None:
    tfm = Normalize(*imagenet_stats)
    with pytest.raises(ValueError, match="3 channel statistics"):
        tfm((torch.rand(2, 1, 4, 4),), ("image",))
    with pytest.raises(TypeError, match="IntToFloat"):
        tfm((torch.zeros(2, 3, 4, 4, dtype=torch.uint8),), ("image",))


def test_pipeline_orders_and_exports_without_pickle() -> None:
    images, masks = _uint8_batch()
    pipe = Pipeline([Normalize(*imagenet_stats), IntToFloat()])
    assert [type(t) for t in pipe.tfms] == [IntToFloat, Normalize]
    config = json.loads(json.dumps(pipe.to_config()))
    rebuilt = Pipeline.from_config(config)
    torch.testing.assert_close(
        rebuilt((images, masks), IMAGE_MASK), pipe((images, masks), IMAGE_MASK)
    )
    decoded = rebuilt.decode(rebuilt((images, masks), IMAGE_MASK), IMAGE_MASK)
    assert torch.equal(decoded[0], images)


def test_erase_mask_marks_exactly_the_boxes() -> None:
    boxes = torch.tensor([[[1, 3, 2, 5], [0, 0, 0, 4]], [[0, 4, 0, 1], [3, 4, 3, 4]]])
    mask = erase_mask(boxes, 4, 6)
    expected = torch.zeros(2, 4, 6, dtype=torch.bool)
    expected[0, 1:3, 2:5] = True
    expected[1, 0:4, 0:1] = True
    expected[1, 3, 3] = True
    assert torch.equal(mask, expected)


def test_random_erasing_covers_the_requested_area_with_noise() -> None:
    images = torch.zeros(32, 3, 20, 20)
    (out,) = RandomErasing(p=1.0, sl=0.25, sh=0.25, min_aspect=0.5)((images,), ("image",), 0)
    erased = (out != 0).all(dim=1)  # (B, H, W): noise is non-zero on every channel
    fraction = erased.float().mean(dim=(1, 2))
    assert ((fraction > 0.18) & (fraction < 0.32)).all()
    assert out[erased[:, None].expand_as(out)].std() == pytest.approx(1.0, abs=0.1)


def test_random_erasing_boxes_stay_inside_the_image() -> None:
    tfm = RandomErasing(p=1.0, sl=0.2, sh=1.0, min_aspect=0.1, max_count=3)
    top, bottom, left, right = tfm.draw_boxes(200, 10, 7).unbind(-1)
    assert (top >= 0).all()
    assert (left >= 0).all()
    assert (top <= bottom).all()
    assert (left <= right).all()
    assert (bottom <= 10).all()
    assert (right <= 7).all()
    assert (bottom > top).any(dim=1).all()  # every chosen image has at least one box


def test_random_erasing_only_on_training_images() -> None:
    images, masks = torch.rand(8, 3, 10, 10), torch.randint(0, 3, (8, 10, 10))
    tfm = RandomErasing(p=1.0, sl=0.2)
    assert tfm((images, masks), IMAGE_MASK, 1)[0] is images
    out_images, out_masks = tfm((images, masks), IMAGE_MASK, 0)
    assert out_masks is masks
    assert not torch.equal(out_images, images)
    assert RandomErasing(p=0.0)((images,), ("image",), 0)[0] is images


def test_random_erasing_keeps_dtype_and_pixels_outside_the_boxes() -> None:
    images = torch.rand(16, 3, 12, 12, dtype=torch.float64)
    tfm = RandomErasing(p=1.0, sl=0.1, max_count=3)
    torch.manual_seed(2)
    boxes = tfm.draw_boxes(16, 12, 12)
    torch.manual_seed(2)
    (out,) = tfm((images,), ("image",), 0)
    assert out.dtype == torch.float64
    erase = erase_mask(boxes, 12, 12)[:, None].expand_as(images)
    assert torch.equal(out[~erase], images[~erase])
    assert (out[erase] != images[erase]).all()


def test_random_erasing_config_round_trips() -> None:
    tfm = RandomErasing(p=0.3, sl=0.1, sh=0.2, min_aspect=0.5, max_count=2)
    rebuilt = Pipeline.from_config(json.loads(json.dumps(Pipeline(tfm).to_config()))).tfms[0]
    assert rebuilt.config() == tfm.config()


@pytest.mark.parametrize(
    ("args", "match"),
    [({"p": 1.5}, "p must"), ({"sl": 0.5, "sh": 0.2}, "sl"), ({"min_aspect": 0}, "min_aspect")],
)
def test_random_erasing_rejects_bad_args(args: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        RandomErasing(**args)
