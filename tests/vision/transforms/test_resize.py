"""Tests for lamina.vision.transforms.resize: geometry of images, masks and points, and ToTensor."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import torch
from PIL import Image

from lamina.data.transform import Pipeline
from lamina.vision.transforms.resize import CropPad, RandomResizedCrop, Resize, ToTensor

KINDS = ("image", "mask", "points", "category")


def _image(width: int, height: int, seed: int = 0) -> Image.Image:
    array = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return Image.fromarray(array)


def _mask(width: int, height: int, labels: tuple[int, ...] = (0, 3, 7)) -> Image.Image:
    # Vertical stripes of each label, a few pixels wide.
    columns = np.array(labels, dtype=np.uint8)[(np.arange(width) // 3) % len(labels)]
    return Image.fromarray(np.tile(columns, (height, 1)))


def _dot_sample(width: int, height: int, x: float, y: float) -> tuple:
    """A black image with a white 3x3 dot centred on pixel (x, y), and that point."""
    array = np.zeros((height, width, 3), dtype=np.uint8)
    col, row = int(x), int(y)
    array[max(row - 1, 0) : row + 2, max(col - 1, 0) : col + 2] = 255
    points = torch.tensor([[x + 0.5, y + 0.5]])
    return (Image.fromarray(array), points)


def _bright_centre(img: Image.Image) -> np.ndarray:
    """(x, y) in continuous pixel coordinates of the centroid of bright pixels."""
    grey = np.asarray(img.convert("L")).astype(np.float64)
    weight = np.clip(grey - 60, 0, None)
    rows, cols = np.indices(grey.shape)
    total = weight.sum()
    assert total > 0, "the dot left the image"
    return np.array([(cols * weight).sum() / total + 0.5, (rows * weight).sum() / total + 0.5])


ALL_TFMS = [
    Resize(24, method="crop"),
    Resize((20, 30), method="squish"),
    Resize((20, 30), method="pad", pad_mode="zeros"),
    Resize((30, 20), method="pad", pad_mode="border"),
    Resize(32, method="pad", pad_mode="reflection"),
    RandomResizedCrop((18, 26)),
    CropPad((20, 70)),
    CropPad(15, pad_mode="reflection"),
]


@pytest.mark.parametrize("tfm", ALL_TFMS, ids=repr)
@pytest.mark.parametrize("split_idx", [0, 1, None])
def test_output_sizes_for_every_kind(tfm, split_idx):
    sample = (_image(50, 40), _mask(50, 40), torch.tensor([[10.0, 10.0]]), torch.tensor(2))
    img, mask, points, label = tfm(sample, KINDS, split_idx)
    height, width = tfm.size
    assert img.size == (width, height)
    assert img.mode == "RGB"
    assert mask.size == (width, height)
    assert points.shape == (1, 2)
    assert label is sample[3]


@pytest.mark.parametrize("tfm", ALL_TFMS, ids=repr)
def test_mask_keeps_only_its_labels(tfm):
    random.seed(1)
    sample = (_image(61, 47), _mask(61, 47, labels=(0, 5, 9)))
    _, mask = tfm(sample, ("image", "mask"), 0)
    assert set(np.unique(np.asarray(mask)).tolist()) <= {0, 5, 9}
    assert len(np.unique(np.asarray(mask))) >= 2


def test_palette_and_sixteen_bit_masks_keep_mode_and_values():
    palette_mask = _mask(40, 30).convert("P")
    palette_mask.putpalette([0, 0, 0] + [255, 0, 0] * 255)
    deep_mask = Image.fromarray(np.asarray(_mask(40, 30)).astype(np.uint16) * 100)
    for tfm in (Resize(17, method="pad", pad_mode="reflection"), CropPad(50)):
        out = tfm((palette_mask,), ("mask",))[0]
        assert out.mode == "P"
        assert out.getpalette()[3:6] == [255, 0, 0]
        deep = tfm((deep_mask,), ("mask",))[0]
        assert set(np.unique(np.asarray(deep)).tolist()) <= {0, 300, 700}


@pytest.mark.parametrize(
    "tfm",
    [
        Resize(32, method="crop"),
        Resize((24, 40), method="squish"),
        Resize((30, 30), method="pad", pad_mode="zeros"),
        RandomResizedCrop(32, min_scale=0.5),
        CropPad((48, 40)),
        CropPad(90),
    ],
    ids=repr,
)
@pytest.mark.parametrize("split_idx", [0, None])
def test_points_follow_image_content(tfm, split_idx):
    random.seed(3)
    img, points = _dot_sample(80, 60, 38.0, 27.0)
    out_img, out_points = tfm((img, points), ("image", "points"), split_idx)
    # Tight enough to catch a half-pixel slip in the coordinate convention.
    assert np.abs(_bright_centre(out_img) - out_points[0].numpy()).max() < 0.3


def test_pad_resize_places_image_in_the_middle():
    white = Image.new("RGB", (40, 20), (255, 255, 255))
    out = Resize(20, method="pad", pad_mode="zeros")((white,), ("image",))[0]
    array = np.asarray(out)[..., 0]
    assert array[:5].max() == 0
    assert array[-5:].max() == 0
    assert array[6:14].min() == 255


def test_reflection_and_border_padding_fill_with_image_content():
    img = _image(30, 10)
    zeros = Resize(30, method="pad", pad_mode="zeros")((img,), ("image",))[0]
    border = Resize(30, method="pad", pad_mode="border")((img,), ("image",))[0]
    reflect = Resize(30, method="pad", pad_mode="reflection")((img,), ("image",))[0]
    assert np.asarray(zeros)[:5].max() == 0
    assert np.array_equal(np.asarray(border)[0], np.asarray(border)[10])
    assert np.array_equal(np.asarray(reflect)[9], np.asarray(reflect)[11])


def test_crop_pad_is_exact_without_scaling():
    img = _image(20, 10)
    out = CropPad((6, 8))((img,), ("image",))[0]
    assert np.array_equal(np.asarray(out), np.asarray(img)[2:8, 6:14])
    padded = CropPad((14, 24))((img,), ("image",))[0]
    assert np.array_equal(np.asarray(padded)[2:12, 2:22], np.asarray(img))
    assert np.asarray(padded)[:2].max() == 0


def test_random_crop_only_on_training_split():
    img = _image(120, 60)
    tfm = Resize(40, method="crop")
    valid = [np.asarray(tfm((img,), ("image",), 1)[0]) for _ in range(3)]
    assert all(np.array_equal(valid[0], other) for other in valid)
    # The centre crop of a 120x60 image is columns 30..90.
    expected = np.asarray(img.resize((40, 40), Image.Resampling.BILINEAR, box=(30, 0, 90, 60)))
    assert np.array_equal(valid[0], expected)
    train = [np.asarray(tfm((img,), ("image",), 0)[0]) for _ in range(4)]
    assert any(not np.array_equal(train[0], other) for other in train[1:])


@pytest.mark.parametrize("tfm", [Resize(40), RandomResizedCrop(40)], ids=repr)
def test_random_crops_reproducible_under_seed(tfm):
    img = _image(100, 70)

    def crops(seed: int) -> list[np.ndarray]:
        random.seed(seed)
        return [np.asarray(tfm((img,), ("image",), 0)[0]) for _ in range(3)]

    first, again, other = crops(0), crops(0), crops(1)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert any(not np.array_equal(a, b) for a, b in zip(first, other, strict=True))


def test_random_resized_crop_validation_is_centre_with_extra_border():
    img = _image(100, 80)
    tfm = RandomResizedCrop(40, val_xtra=0.25)
    out = tfm((img,), ("image",), 1)[0]
    # Largest centred square 80x80, each side divided by 1.25: 64x64 from (18, 8).
    expected = img.resize((40, 40), Image.Resampling.BILINEAR, box=(18, 8, 82, 72))
    assert np.array_equal(np.asarray(out), np.asarray(expected))


def test_random_resized_crop_area_and_ratio_in_range():
    tfm = RandomResizedCrop(32, min_scale=0.3, ratio=(0.5, 2.0))
    random.seed(0)
    for _ in range(50):
        plan = tfm.plan((200, 150), train=True)
        left, top, right, bottom = plan.box
        assert 0 <= left < right <= 200
        assert 0 <= top < bottom <= 150
        area = (right - left) * (bottom - top) / (200 * 150)
        assert 0.3 - 1e-9 <= area <= 1 + 1e-9
        assert 0.5 - 1e-9 <= (right - left) / (bottom - top) <= 2 + 1e-9


def test_random_resized_crop_falls_back_on_elongated_images():
    random.seed(0)
    tfm = RandomResizedCrop(16, min_scale=0.9)
    img, mask = tfm((_image(400, 10), _mask(400, 10)), ("image", "mask"), 0)
    assert img.size == mask.size == (16, 16)


def test_image_and_mask_at_different_scales_take_the_same_region():
    # A draft-decoded image at half the size of its mask.
    quadrants = np.zeros((60, 80), dtype=np.uint8)
    quadrants[:30, 40:], quadrants[30:, :40], quadrants[30:, 40:] = 1, 2, 3
    mask = Image.fromarray(quadrants)
    small = mask.resize((40, 30), Image.Resampling.NEAREST)
    random.seed(2)
    out_mask, out_small = RandomResizedCrop(20)((mask, small), ("mask", "mask"), 0)
    agree = (np.asarray(out_mask) == np.asarray(out_small)).mean()
    assert agree > 0.9


def test_no_op_resize_returns_same_image():
    img = _image(24, 24)
    assert Resize(24)((img,), ("image",), 0)[0] is img


def test_to_tensor_every_kind():
    img = _image(8, 4)
    mask = _mask(8, 4)
    points = torch.tensor([[0.0, 0.0], [8.0, 4.0], [4.0, 1.0]])
    out = ToTensor()((img, mask, points, torch.tensor(1)), KINDS)
    assert out[0].dtype == torch.uint8
    assert out[0].shape == (3, 4, 8)
    assert out[1].dtype == torch.int64
    assert out[1].shape == (4, 8)
    assert out[2].tolist() == [[-1.0, -1.0], [1.0, 1.0], [0.0, -0.5]]
    assert int(out[3]) == 1
    assert ToTensor.order > Resize.order


def test_to_tensor_decode_keeps_display_ready_tensors():
    tfm = ToTensor()
    points = torch.tensor([[2.0, 1.0], [6.0, 3.0]])
    encoded = tfm((_image(8, 4), points), ("image", "points"))
    decoded = Pipeline([Resize(4), tfm]).decode(encoded, ("image", "points"))
    assert decoded[0] is encoded[0]
    # Points stay in [-1, 1]; display scales them to the image it draws.
    assert torch.allclose((decoded[1] + 1) / 2 * torch.tensor([8.0, 4.0]), points)


def test_geometric_transform_needs_image_for_points():
    with pytest.raises(ValueError, match="without an image or mask"):
        Resize(10)((torch.zeros(1, 2),), ("points",))
    with pytest.raises(TypeError, match="PIL image"):
        Resize(10)((torch.zeros(3, 4, 4),), ("image",))
    with pytest.raises(ValueError, match="points without an image"):
        ToTensor()((torch.zeros(1, 2),), ("points",))


def test_pipeline_config_round_trip_through_json():
    pipeline = Pipeline(
        [
            ToTensor(),
            Resize((20, 30), method="pad", pad_mode="border", resample="bicubic"),
            RandomResizedCrop(16, min_scale=0.2, ratio=(0.5, 2.0), val_xtra=0.1),
            CropPad(12, pad_mode="reflection"),
        ]
    )
    config = json.loads(json.dumps(pipeline.to_config()))
    rebuilt = Pipeline.from_config(config)
    assert rebuilt.to_config() == pipeline.to_config()
    assert [type(t) for t in rebuilt.tfms] == [type(t) for t in pipeline.tfms]
    sample = (_image(40, 30),)
    expected = pipeline(sample, ("image",), 1)[0]
    assert torch.equal(rebuilt(sample, ("image",), 1)[0], expected)
    assert expected.shape == (3, 12, 12)


def test_draft_sizes():
    assert Resize((20, 30)).draft_size() == (30, 20)
    assert RandomResizedCrop(100, val_xtra=0.14).draft_size() == (114, 114)
    assert CropPad(10).draft_size() is None
    assert ToTensor().draft_size() is None


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: Resize(0), "size"),
        (lambda: Resize((10, 10, 3)), "size"),
        (lambda: Resize(True), "size"),
        (lambda: Resize(10, method="zoom"), "method.*'zoom'"),
        (lambda: Resize(10, pad_mode="wrap"), "pad_mode.*'wrap'"),
        (lambda: Resize(10, resample="cubic"), "resample.*'cubic'"),
        (lambda: RandomResizedCrop(10, min_scale=0), "min_scale"),
        (lambda: RandomResizedCrop(10, ratio=(2, 1)), "ratio"),
        (lambda: RandomResizedCrop(10, val_xtra=-1), "val_xtra"),
        (lambda: CropPad(10, pad_mode="mirror"), "pad_mode.*reflection.*'mirror'"),
    ],
)
def test_constructors_validate(build, match):
    with pytest.raises(ValueError, match=match):
        build()
