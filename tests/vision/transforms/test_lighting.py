"""Lighting: brightness, contrast and saturation of float image batches."""

from __future__ import annotations

import json

import pytest
import torch

from lamina.data.transform import Pipeline
from lamina.vision.transforms.lighting import Lighting, adjust_lighting


def _neutral(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.full((n,), 0.5), torch.ones(n)


def test_neutral_parameters_are_identity() -> None:
    images = torch.rand(4, 3, 8, 8)
    images[0, 0, 0, 0], images[0, 0, 0, 1] = 0.0, 1.0
    out = adjust_lighting(images, *_neutral(4), saturation=torch.ones(4))
    torch.testing.assert_close(out, images, atol=1e-5, rtol=0)


def test_zero_magnitude_returns_the_batch_untouched() -> None:
    images = torch.rand(4, 3, 8, 8)
    assert Lighting(max_lighting=0.0)((images,), ("image",), 0)[0] is images
    assert Lighting(p_lighting=0.0)((images,), ("image",), 0)[0] is images


def test_brightness_moves_mean_intensity() -> None:
    images = torch.rand(4, 3, 8, 8)
    _, contrast = _neutral(4)
    brighter = adjust_lighting(images, torch.full((4,), 0.7), contrast)
    darker = adjust_lighting(images, torch.full((4,), 0.3), contrast)
    assert (brighter > images).all()
    assert brighter.mean() > images.mean() + 0.05
    assert darker.mean() < images.mean() - 0.05


def test_contrast_spreads_values_around_the_middle() -> None:
    images = torch.rand(4, 3, 8, 8)
    brightness, _ = _neutral(4)
    sharper = adjust_lighting(images, brightness, torch.full((4,), 1.5))
    flatter = adjust_lighting(images, brightness, torch.full((4,), 0.5))
    assert sharper.std() > images.std() > flatter.std()
    assert ((sharper - 0.5).sign() == (images - 0.5).sign()).all()


def test_saturation_zero_gives_grey_and_results_stay_in_range() -> None:
    images = torch.rand(4, 3, 8, 8)
    out = adjust_lighting(images, *_neutral(4), saturation=torch.zeros(4))
    torch.testing.assert_close(out[:, 0], out[:, 1], atol=1e-5, rtol=0)
    torch.testing.assert_close(out[:, 1], out[:, 2], atol=1e-5, rtol=0)
    strong = adjust_lighting(
        images, torch.full((4,), 0.95), torch.full((4,), 3.0), torch.full((4,), 3.0)
    )
    assert strong.min() >= 0.0
    assert strong.max() <= 1.0


def test_images_that_drew_no_change_are_kept_bit_for_bit() -> None:
    images = torch.rand(32, 3, 8, 8)
    (out,) = Lighting(max_lighting=0.5, p_lighting=0.3)((images,), ("image",), 0)
    same = (out == images).flatten(1).all(dim=1)
    assert same.any()
    assert not same.all()


def test_only_training_images_change_and_dtype_is_kept() -> None:
    images = torch.rand(8, 3, 8, 8, dtype=torch.float64)
    masks = torch.randint(0, 3, (8, 8, 8))
    tfm = Lighting(max_lighting=0.4, p_lighting=1.0, max_saturation=0.5)
    assert tfm((images, masks), ("image", "mask"), 1)[0] is images
    out_images, out_masks = tfm((images, masks), ("image", "mask"), 0)
    assert out_masks is masks
    assert out_images.dtype == torch.float64
    assert not torch.allclose(out_images, images)


def test_uint8_images_are_refused() -> None:
    with pytest.raises(TypeError, match="IntToFloat"):
        Lighting(p_lighting=1.0)((torch.zeros(2, 3, 4, 4, dtype=torch.uint8),), ("image",), 0)


def test_draws_are_within_range_and_reproducible() -> None:
    tfm = Lighting(max_lighting=0.4, p_lighting=1.0, max_saturation=0.5)
    torch.manual_seed(3)
    brightness, contrast, saturation, changed = tfm.draw_params(1000)
    assert changed.all()
    assert brightness.min() >= 0.3
    assert brightness.max() <= 0.7
    assert contrast.min() >= 0.6 - 1e-6
    assert contrast.max() <= 1 / 0.6 + 1e-6
    assert saturation.min() >= 0.5 - 1e-6
    torch.manual_seed(3)
    assert torch.equal(tfm.draw_params(1000)[0], brightness)


def test_config_round_trips() -> None:
    tfm = Lighting(max_lighting=0.3, p_lighting=0.5, max_saturation=0.2)
    rebuilt = Pipeline.from_config(json.loads(json.dumps(Pipeline(tfm).to_config()))).tfms[0]
    assert isinstance(rebuilt, Lighting)
    assert rebuilt.config() == tfm.config()


@pytest.mark.parametrize(
    ("args", "match"),
    [({"max_lighting": 1.0}, "max_lighting"), ({"p_lighting": -0.1}, "p_lighting")],
)
def test_rejects_bad_args(args: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Lighting(**args)
