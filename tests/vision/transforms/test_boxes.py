"""Bounding boxes move with their image: after every geometric transform, the box still encloses
the white rectangle drawn in a synthetic image tightly (rotations: the upright box around it)."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from PIL import Image

from lamina.vision.data.box_geometry import (
    box_corners,
    drop_empty_boxes,
    enclosing_boxes,
)
from lamina.vision.transforms.affine import AffineWarp
from lamina.vision.transforms.item_affine import ItemAffineResize
from lamina.vision.transforms.resize import CropPad, RandomResizedCrop, Resize, ToTensor

KINDS = ("image", "bbox", "bbox_label")
WIDTH, HEIGHT = 80, 60
RECT = [20.0, 12.0, 52.0, 34.0]  # the white rectangle's pixel edges (x0, y0, x1, y1)


def _picture(rect: list[float] = RECT) -> Image.Image:
    pixels = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    x0, y0, x1, y1 = (int(v) for v in rect)
    pixels[y0:y1, x0:x1] = 255
    return Image.fromarray(pixels)


def _white_box(image: torch.Tensor | Image.Image) -> list[float]:
    """The pixel edges (x0, y0, x1, y1) of the white region: pixels brighter than half."""
    array = np.asarray(image)[..., 0] if isinstance(image, Image.Image) else image[0].numpy()
    ys, xs = np.nonzero(array > array.max() / 2)
    return [float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)]


def _sample(boxes: list[list[float]] | None = None) -> tuple:
    boxes_t = torch.tensor(boxes if boxes is not None else [RECT])
    return _picture(), boxes_t, torch.arange(1, len(boxes_t) + 1)


def _assert_encloses(box: torch.Tensor, image: torch.Tensor | Image.Image, atol: float) -> None:
    expected = torch.tensor(_white_box(image))
    assert torch.allclose(box.float(), expected, atol=atol), (box.tolist(), expected.tolist())


def test_corners_and_enclosing_boxes_round_trip() -> None:
    boxes = torch.tensor([[1.0, 2.0, 3.0, 5.0], [0.0, 0.0, 4.0, 1.0]])
    corners = box_corners(boxes)
    assert corners.shape == (8, 2)
    assert corners[:4].tolist() == [[1, 2], [3, 2], [1, 5], [3, 5]]
    assert torch.equal(enclosing_boxes(corners), boxes)
    batched = boxes.expand(3, 2, 4)
    assert torch.equal(enclosing_boxes(box_corners(batched)), batched)


@pytest.mark.parametrize(
    "tfm",
    [
        Resize(64, method="squish"),
        Resize(48, method="crop"),
        Resize((40, 70), method="pad", pad_mode="zeros"),
        RandomResizedCrop(48, min_scale=0.5),
        CropPad((50, 50)),
        CropPad((90, 100)),
    ],
    ids=["squish", "crop", "pad", "random_resized_crop", "crop_pad_crop", "crop_pad_pad"],
)
@pytest.mark.parametrize("split_idx", [0, 1])
def test_item_transforms_move_boxes_with_the_image(tfm: object, split_idx: int) -> None:
    random.seed(split_idx)
    image, boxes, labels = tfm(_sample(), KINDS, split_idx)  # type: ignore[operator]
    assert torch.equal(labels, torch.tensor([1]))
    _assert_encloses(boxes[0], image, atol=1.0)


def test_totensor_scales_boxes_to_minus_one_one() -> None:
    image, boxes, _ = ToTensor()(_sample(), KINDS)
    assert image.shape == (3, HEIGHT, WIDTH)
    expected = torch.tensor(RECT) / torch.tensor([WIDTH, HEIGHT] * 2) * 2 - 1
    assert torch.allclose(boxes[0], expected)


def test_boxes_cut_by_a_crop_are_clipped_and_those_outside_dropped_with_their_labels() -> None:
    # A 40x40 centre crop spans x 20..60, y 10..50 of the 80x60 image.
    boxes = [[0.0, 0.0, 10.0, 8.0], [10.0, 20.0, 30.0, 30.0], [70.0, 50.0, 78.0, 58.0]]
    _, moved, labels = CropPad(40)(_sample(boxes), KINDS, 1)
    assert labels.tolist() == [2]
    assert moved.tolist() == [[0.0, 10.0, 10.0, 20.0]]


def _batch(boxes: list[list[float]] | None = None) -> tuple:
    image, boxes_t, labels = ToTensor()(_sample(boxes), KINDS)
    return image[None].float() / 255, boxes_t[None], labels[None]


def _pixels(boxes: torch.Tensor) -> torch.Tensor:
    return (boxes + 1) / 2 * torch.tensor([WIDTH, HEIGHT] * 2)


@pytest.mark.parametrize(
    "tfm",
    [
        AffineWarp(max_rotate=0, max_zoom=1.0, max_warp=0, p_flip=1.0, pad_mode="zeros"),
        AffineWarp(
            do_flip=True,
            flip_vert=True,
            p_flip=1.0,
            max_rotate=0,
            max_zoom=1.0,
            max_warp=0,
            pad_mode="zeros",
        ),  # fmt: skip
        AffineWarp(
            do_flip=False,
            max_rotate=0,
            min_zoom=1.3,
            max_zoom=1.3,
            max_warp=0,
            p_affine=1.0,
            pad_mode="zeros",
        ),  # fmt: skip
        AffineWarp(
            do_flip=False,
            max_rotate=0,
            min_zoom=0.7,
            max_zoom=0.7,
            max_warp=0,
            p_affine=1.0,
            pad_mode="zeros",
        ),  # fmt: skip
        AffineWarp(
            do_flip=False, max_rotate=0, max_zoom=1.0, max_warp=0.3, p_affine=1.0, pad_mode="zeros"
        ),  # fmt: skip
        AffineWarp(
            do_flip=False, max_rotate=40, max_zoom=1.0, max_warp=0, p_affine=1.0, pad_mode="zeros"
        ),  # fmt: skip
        AffineWarp(
            max_rotate=30,
            min_zoom=0.9,
            max_zoom=1.2,
            max_warp=0.2,
            p_affine=1.0,
            pad_mode="zeros",
            size=(48, 64),
        ),  # fmt: skip
    ],
    ids=["flip", "flip_vert", "zoom_in", "zoom_out", "warp", "rotate", "all_resized"],
)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_batch_warp_moves_boxes_with_the_image(tfm: AffineWarp, seed: int) -> None:
    torch.manual_seed(seed)
    images, boxes, labels = tfm(_batch(), KINDS, 0)
    height, width = images.shape[-2:]
    pixels = (boxes[0, 0] + 1) / 2 * torch.tensor([width, height] * 2)
    # align_corners puts -1 and +1 on the edge pixels' centres: half a pixel each way, and the
    # bilinear edge of the white region another half.
    _assert_encloses(pixels, images[0], atol=1.5)
    assert labels.tolist() == [[1]]


def test_rotation_gives_the_box_around_the_rotated_rectangle() -> None:
    torch.manual_seed(0)
    tfm = AffineWarp(do_flip=False, max_rotate=45, max_zoom=1.0, max_warp=0, p_affine=1.0,
                     pad_mode="zeros")  # fmt: skip
    images, boxes, _ = tfm(_batch(), KINDS, 0)
    moved = _pixels(boxes[0, 0])
    before = torch.tensor(RECT)
    # The rotated rectangle's upright box is larger than the rectangle in both directions.
    assert moved[2] - moved[0] > before[2] - before[0] + 2
    assert moved[3] - moved[1] > before[3] - before[1] + 2
    _assert_encloses(moved, images[0], atol=1.5)


def test_boxes_warped_out_of_the_image_become_padding() -> None:
    # Zooming 3x into the centre pushes the corner box out of the picture.
    tfm = AffineWarp(do_flip=False, max_rotate=0, min_zoom=3.0, max_zoom=3.0, max_warp=0,
                     p_affine=1.0, pad_mode="zeros")  # fmt: skip
    tfm.draw_matrices = lambda b, h, w: (  # type: ignore[method-assign]
        torch.diag(torch.tensor([1 / 3, 1 / 3, 1.0])).expand(b, 3, 3),
        torch.ones(b, dtype=bool),
    )
    _, boxes, labels = tfm(_batch([[0.0, 0.0, 8.0, 8.0], [30.0, 20.0, 50.0, 40.0]]), KINDS, 0)
    assert labels.tolist() == [[0, 2]]
    assert boxes[0, 0].tolist() == [0.0, 0.0, 0.0, 0.0]
    assert (boxes[0, 1].abs() <= 1).all()
    assert boxes[0, 1, 2] > boxes[0, 1, 0]


def test_padding_boxes_stay_padding() -> None:
    images, boxes, labels = _batch()
    boxes = torch.cat([boxes, torch.zeros(1, 1, 4)], dim=1)
    labels = torch.cat([labels, torch.zeros(1, 1, dtype=torch.int64)], dim=1)
    torch.manual_seed(0)
    tfm = AffineWarp(max_rotate=30, p_affine=1.0, pad_mode="zeros")
    _, out_boxes, out_labels = tfm((images, boxes, labels), KINDS, 0)
    assert out_boxes[0, 1].tolist() == [0.0] * 4
    assert out_labels.tolist() == [[1, 0]]


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_fused_item_warp_moves_boxes_with_the_image(seed: int) -> None:
    torch.manual_seed(seed)
    random.seed(seed)
    affine = AffineWarp(max_rotate=30, min_zoom=0.9, max_zoom=1.2, max_warp=0.2, p_affine=1.0,
                        pad_mode="zeros")  # fmt: skip
    tfm = ItemAffineResize(Resize(48, method="squish"), affine)
    image, boxes, labels = tfm(_sample(), KINDS, 0)
    assert labels.tolist() == [1]
    _assert_encloses(boxes[0], image, atol=1.5)


def test_fused_item_flip_moves_boxes() -> None:
    affine = AffineWarp(do_flip=True, flip_vert=True, p_flip=1.0, max_rotate=0, max_zoom=1.0,
                        max_warp=0)  # fmt: skip
    image, boxes, _ = ItemAffineResize(Resize(40, method="squish"), affine)(_sample(), KINDS, 0)
    _assert_encloses(boxes[0], image, atol=1.0)


def test_drop_empty_boxes_checks_one_label_per_box() -> None:
    with pytest.raises(ValueError, match=r"\(2,\) boxes but \(1,\) labels"):
        drop_empty_boxes((torch.zeros(2, 4), torch.zeros(1)), ("bbox", "bbox_label"))
