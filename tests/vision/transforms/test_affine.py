"""AffineWarp: geometry against torch references, and images, masks and points kept aligned."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

from lamina.data.transform import Pipeline
from lamina.vision.transforms.affine import (
    AffineWarp,
    Flip,
    Rotate,
    Warp,
    Zoom,
    flip_matrix,
    fuse_affine,
    resample_masks,
    rotation_matrix,
    sampling_grid,
    transform_points,
    warp_matrix,
    zoom_matrix,
)
from lamina.vision.transforms.lighting import Lighting

ALL_KINDS = ("image", "mask", "points")


def _resample(
    images: torch.Tensor, matrix: torch.Tensor, pad_mode: str = "reflection"
) -> torch.Tensor:
    grid = sampling_grid(matrix, tuple(images.shape[-2:]))
    return F.grid_sample(images, grid, "bilinear", pad_mode, True)


@pytest.mark.parametrize("align_corners", [True, False])
def test_identity_matrix_reproduces_the_input(align_corners: bool) -> None:
    images = torch.rand(3, 2, 7, 9)
    grid = sampling_grid(torch.eye(3).repeat(3, 1, 1), (7, 9), align_corners)
    out = F.grid_sample(images, grid, "bilinear", "zeros", align_corners)
    torch.testing.assert_close(out, images, atol=1e-5, rtol=0)


def test_identity_transform_returns_the_batch_untouched() -> None:
    images = torch.rand(4, 3, 8, 8)
    tfm = AffineWarp(do_flip=False, max_rotate=0.0, max_zoom=1.0, max_warp=0.0)
    assert tfm((images,), ("image",), 0)[0] is images


def test_flip_equals_torch_flip_for_images_masks_and_points() -> None:
    images, masks = torch.rand(4, 3, 6, 10), torch.randint(0, 5, (4, 6, 10))
    points = torch.rand(4, 5, 2) * 2 - 1
    out_images, out_masks, out_points = Flip(p=1.0)((images, masks, points), ALL_KINDS, 0)
    torch.testing.assert_close(out_images, images.flip(-1), atol=1e-5, rtol=0)
    assert torch.equal(out_masks, masks.flip(-1))
    torch.testing.assert_close(out_points, points * torch.tensor([-1.0, 1.0]))


def test_vertical_flip_equals_torch_flip() -> None:
    images = torch.rand(2, 1, 6, 6)
    out = Flip(p=1.0, flip_vert=True)((images,), ("image",), 0)[0]
    torch.testing.assert_close(out, images.flip(-1, -2), atol=1e-5, rtol=0)


def test_rotation_by_90_degrees_equals_rot90() -> None:
    images = torch.rand(2, 3, 9, 9)
    out = _resample(images, rotation_matrix(torch.tensor([90.0, -90.0])))
    torch.testing.assert_close(out[0], images[0].rot90(1, (1, 2)), atol=1e-5, rtol=0)
    torch.testing.assert_close(out[1], images[1].rot90(-1, (1, 2)), atol=1e-5, rtol=0)


def test_rotation_keeps_pixel_proportions_on_wide_images() -> None:
    # A 90-degree turn of a 2:1 image maps the horizontal centre line onto the vertical one.
    images = torch.zeros(1, 1, 9, 17)
    images[0, 0, 4, :] = 1.0
    matrix = Rotate(max_deg=90.0, p=1.0).draw_matrices(1, 9, 17)[0]
    aspect_squared = -matrix[0, 1, 0] / matrix[0, 0, 1]  # ((width - 1) / (height - 1)) ** 2
    torch.testing.assert_close(aspect_squared, torch.tensor(4.0))
    out = _resample(images, rotation_matrix(torch.tensor([90.0]), aspect=2.0), "zeros")
    torch.testing.assert_close(out[0, 0, :, 8], torch.ones(9), atol=1e-5, rtol=0)
    out[0, 0, :, 8] = 0.0
    assert out.abs().max() < 1e-5


def test_zoom_scales_content_around_the_centre() -> None:
    # Bilinear sampling is exact on a linear ramp: zooming by 2 halves its slope.
    ramp = torch.linspace(-1, 1, 17).expand(1, 1, 17, 17).contiguous()
    out = _resample(ramp, zoom_matrix(torch.tensor([2.0]), torch.zeros(1, 2)))
    torch.testing.assert_close(out, ramp / 2, atol=1e-5, rtol=0)
    shifted = _resample(ramp, zoom_matrix(torch.tensor([2.0]), torch.tensor([[0.5, 0.0]])))
    torch.testing.assert_close(shifted, ramp / 2 + 0.5, atol=1e-5, rtol=0)


def test_random_zoom_in_stays_inside_the_image() -> None:
    tfm = Zoom(min_zoom=1.5, max_zoom=3.0, p=1.0)
    matrix, changed = tfm.draw_matrices(500, 16, 16)
    corners = torch.tensor([[-1.0, -1.0, 1.0], [1.0, 1.0, 1.0]])
    reach = torch.einsum("nk,bjk->bnj", corners, matrix)[..., :2]
    assert changed.all()
    assert reach.abs().max() <= 1.0 + 1e-6


def test_nearest_sampling_keeps_image_and_mask_aligned() -> None:
    masks = torch.randint(1, 6, (8, 16, 16))
    images = masks[:, None].float().expand(8, 3, 16, 16).contiguous()
    tfm = AffineWarp(
        max_rotate=30.0, max_zoom=1.5, max_warp=0.3, p_affine=1.0, mode="nearest", pad_mode="zeros"
    )  # so that outside reads 0 in both
    out_images, out_masks = tfm((images, masks), ("image", "mask"), 0)
    assert out_masks.dtype == torch.int64
    assert torch.equal(out_images[:, 0].long(), out_masks)
    assert (out_masks != masks).any()


def test_bilinear_images_agree_with_nearest_masks_inside_regions() -> None:
    masks = torch.zeros(4, 32, 32, dtype=torch.int64)
    masks[:, 8:24, 8:24] = 3  # a square of label 3, blurred only at its border by bilinear
    images = masks[:, None].float()
    tfm = AffineWarp(max_rotate=20.0, max_zoom=1.3, p_affine=1.0, mask_fill=None)
    out_images, out_masks = tfm((images, masks), ("image", "mask"), 0)
    # Where the bilinear value is a whole label, all four neighbours hold it: nearest must agree.
    values = out_images[:, 0]
    whole = (values - values.round()).abs() < 1e-4
    assert whole.float().mean() > 0.8
    assert torch.equal(values.round().long()[whole], out_masks[whole])


def test_masks_read_fill_outside_the_image() -> None:
    # Zooming out by 2 on 9 pixels reads input pixels 0, 2, .., 8 into outputs 2..6.
    masks = torch.randint(0, 4, (1, 9, 9))
    grid = sampling_grid(zoom_matrix(torch.tensor([0.5]), torch.zeros(1, 2)), (9, 9))
    out = resample_masks(masks, grid, fill=255)
    assert torch.equal(out[0, 2:7, 2:7], masks[0, ::2, ::2])
    inside = torch.zeros(9, 9, dtype=torch.bool)
    inside[2:7, 2:7] = True
    assert (out[0][~inside] == 255).all()


def _blobs(points: torch.Tensor, size: int, sigma: float = 1.0) -> torch.Tensor:
    """Images `(B, 1, size, size)` with a Gaussian blob at each point `(B, 2)` in [-1, 1]."""
    axis = torch.linspace(-1, 1, size)
    pixel = 2 / (size - 1)
    dx = (axis.view(1, 1, -1) - points[:, 0].view(-1, 1, 1)) / pixel
    dy = (axis.view(1, -1, 1) - points[:, 1].view(-1, 1, 1)) / pixel
    return torch.exp(-(dx**2 + dy**2) / (2 * sigma**2))[:, None]


def test_points_follow_the_content() -> None:
    size = 48
    points = torch.rand(16, 2) * 1.2 - 0.6
    images = _blobs(points, size)
    tfm = AffineWarp(
        max_rotate=40.0, min_zoom=0.8, max_zoom=1.4, max_warp=0.3, p_affine=1.0, pad_mode="zeros"
    )
    out_images, out_points = tfm((images, points[:, None]), ("image", "points"), 0)
    peak = out_images.flatten(1).argmax(dim=1)
    peak_xy = torch.stack([peak % size, peak // size], dim=1).float()
    expected_xy = (out_points[:, 0] + 1) * (size - 1) / 2
    inside = (out_points[:, 0].abs() < 0.9).all(dim=1)
    assert inside.sum() >= 8
    assert (peak_xy - expected_xy)[inside].abs().max() <= 1.5


def test_points_round_trip_through_a_warp() -> None:
    matrix = warp_matrix(torch.tensor([[0.3, -0.2]])) @ rotation_matrix(torch.tensor([25.0]))
    points = torch.rand(1, 10, 2) * 2 - 1
    moved = transform_points(points, torch.linalg.inv(matrix))
    torch.testing.assert_close(transform_points(moved, matrix), points, atol=1e-5, rtol=0)


def test_size_resizes_in_the_same_pass() -> None:
    images = torch.rand(2, 3, 16, 16)
    tfm = AffineWarp(do_flip=False, max_rotate=0.0, max_zoom=1.0, max_warp=0.0, size=(8, 12))
    (out,) = tfm((images,), ("image",), 0)
    expected = F.interpolate(images, size=(8, 12), mode="bilinear", align_corners=True)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=0)


def test_only_changed_images_are_resampled_with_their_masks_and_points() -> None:
    images, masks = torch.rand(16, 3, 8, 8), torch.randint(0, 5, (16, 8, 8))
    points = torch.rand(16, 4, 2) * 2 - 1
    out, out_masks, out_points = Flip(p=0.3)((images, masks, points), ALL_KINDS, 0)
    same = (out == images).flatten(1).all(dim=1)
    flipped = (out - images.flip(-1)).abs().flatten(1).amax(dim=1) < 1e-5
    assert (same | flipped).all()
    assert same.any()
    assert flipped.any()
    assert torch.equal(out_masks[same], masks[same])
    assert torch.equal(out_masks[~same], masks[~same].flip(-1))
    torch.testing.assert_close(out_points[~same, :, 0], -points[~same, :, 0])
    torch.testing.assert_close(out_points[same], points[same])


def test_affine_grid_without_projective_division_is_the_same() -> None:
    matrix = rotation_matrix(torch.tensor([30.0, -70.0])) @ zoom_matrix(
        torch.tensor([1.3, 0.8]), torch.tensor([[0.1, -0.2], [0.0, 0.3]])
    )
    full = sampling_grid(matrix, (5, 7), projective=True)
    torch.testing.assert_close(sampling_grid(matrix, (5, 7), projective=False), full)


def test_grid_is_contiguous_and_matches_affine_grid_and_the_projective_formula() -> None:
    matrix = rotation_matrix(torch.tensor([12.0, -5.0])) @ zoom_matrix(
        torch.tensor([1.2, 1.0]), torch.tensor([[0.05, 0.0], [0.0, -0.1]])
    )
    grid = sampling_grid(matrix, (6, 9), projective=False)
    assert grid.is_contiguous()  # a strided grid makes grid_sample twice as slow on the CPU
    expected = F.affine_grid(matrix[:, :2], [2, 1, 6, 9], align_corners=True)
    torch.testing.assert_close(grid, expected)
    warped = matrix @ warp_matrix(torch.tensor([[0.2, -0.1], [0.0, 0.3]]))
    grid = sampling_grid(warped, (6, 9), align_corners=False)
    assert grid.is_contiguous()
    xs = (torch.arange(9) * 2 + 1) / 9 - 1
    ys = (torch.arange(6) * 2 + 1) / 6 - 1
    x, y = xs[4], ys[2]  # one output pixel centre, mapped by hand
    mapped = warped[1] @ torch.stack([x, y, torch.tensor(1.0)])
    torch.testing.assert_close(grid[1, 2, 4], mapped[:2] / mapped[2])


def test_drawn_matrices_are_the_product_of_the_drawn_steps() -> None:
    tfm = AffineWarp(flip_vert=True, min_zoom=0.9, max_zoom=1.3, p_affine=0.5)
    torch.manual_seed(3)
    matrix, changed = tfm.draw_matrices(300, 48, 64)
    # Recover each image's steps from the matrix's entries and check their ranges: the
    # projective row is the tilt, and undoing it leaves flip @ rotation / zoom.
    tilt = matrix[:, 2, :2]
    assert tilt.abs().max() <= 0.2 + 1e-6
    assert torch.equal(matrix[:, 2, 2], torch.ones(300))
    linear = matrix[:, :2, :2] - matrix[:, :2, 2:] * tilt[:, None, :]
    scale = linear.det().abs().rsqrt()  # |det| = 1 / zoom**2 for a rotation and a flip
    assert scale.min() >= 0.9 - 1e-5
    assert scale.max() <= 1.3 + 1e-5
    unchanged = ~changed
    eye = torch.eye(3).expand(int(unchanged.sum()), 3, 3)
    assert torch.equal(matrix[unchanged], eye)
    assert 0.0 < changed.float().mean() < 1.0
    torch.manual_seed(3)
    assert torch.equal(tfm.draw_matrices(300, 48, 64)[0], matrix)


def test_drawn_matrices_equal_the_step_matrices_multiplied() -> None:
    tfm = AffineWarp(flip_vert=True, min_zoom=0.9, max_zoom=1.2)
    torch.manual_seed(0)
    matrix, changed = tfm.draw_matrices(200, 48, 64)
    torch.manual_seed(0)  # the same uniforms, in draw_matrices' column order
    u = torch.rand(200, 11, dtype=torch.float64)
    flip_x, flip_y = u[:, 0] < 0.5, u[:, 1] < 0.5
    rotate, zoom, warp = u[:, 2] < 0.75, u[:, 4] < 0.75, u[:, 8] < 0.75
    scale = torch.where(zoom, 0.9 + u[:, 5] * 0.3, 1.0)
    centre = (u[:, 6:8] * 2 - 1) * (1 - 1 / scale).abs()[:, None]
    expected = (
        flip_matrix(flip_x, flip_y)
        @ rotation_matrix(((u[:, 3] * 2 - 1) * 10 * rotate).float(), tfm._aspect(48, 64))
        @ zoom_matrix(scale.float(), centre.float())
        @ warp_matrix(((u[:, 9:11] * 2 - 1) * 0.2 * warp[:, None]).float())
    )
    torch.testing.assert_close(matrix, expected)
    assert torch.equal(changed, flip_x | flip_y | rotate | zoom | warp)


def test_only_training_batches_are_augmented() -> None:
    images = torch.rand(4, 3, 8, 8)
    tfm = Flip(p=1.0)
    assert tfm((images,), ("image",), 1)[0] is images
    assert tfm((images,), ("image",), None)[0] is images


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_dtype_and_device_are_preserved(dtype: torch.dtype) -> None:
    images, masks = torch.rand(4, 3, 8, 8, dtype=dtype), torch.randint(0, 3, (4, 8, 8))
    points = torch.rand(4, 2, 2, dtype=dtype)
    out = AffineWarp(p_affine=1.0)((images, masks, points), ALL_KINDS, 0)
    assert [x.dtype for x in out] == [dtype, torch.int64, dtype]
    assert all(x.device == images.device for x in out)
    assert out[0].shape == images.shape
    assert out[1].shape == masks.shape


def test_uint8_images_are_refused() -> None:
    images = torch.zeros(2, 3, 8, 8, dtype=torch.uint8)
    with pytest.raises(TypeError, match="IntToFloat"):
        AffineWarp(p_affine=1.0, p_flip=1.0)((images,), ("image",), 0)


def test_seed_reproduces_and_config_rebuilds_the_transform() -> None:
    images = torch.rand(4, 3, 8, 8)
    tfm = AffineWarp(flip_vert=True, max_warp=0.3, size=6, mask_fill=None)
    config = json.loads(json.dumps(Pipeline(tfm).to_config()))
    rebuilt = Pipeline.from_config(config).tfms[0]
    assert rebuilt.config() == tfm.config()
    torch.manual_seed(1)
    first = tfm((images,), ("image",), 0)[0]
    torch.manual_seed(1)
    assert torch.equal(rebuilt((images,), ("image",), 0)[0], first)


def test_thin_constructors_configure_one_step_each() -> None:
    assert Flip(p=0.2).config()["p_flip"] == 0.2
    assert Rotate(max_deg=30.0, p=0.4).config()["max_rotate"] == 30.0
    assert not Rotate().config()["do_flip"]
    assert Zoom(0.9, 1.2).config()["min_zoom"] == 0.9
    assert Warp(0.3, p=1.0).config()["p_warp"] == 1.0


def test_fuse_affine_merges_neighbouring_steps() -> None:
    lighting = Lighting()
    fused = fuse_affine([lighting, Flip(p=0.5), Rotate(20.0, p=0.4), Zoom(1.0, 1.3, p=0.6)])
    assert len(fused) == 2
    assert fused[1] is lighting
    merged = fused[0].config()
    assert (merged["do_flip"], merged["p_flip"]) == (True, 0.5)
    assert (merged["max_rotate"], merged["p_rotate"]) == (20.0, 0.4)
    assert (merged["max_zoom"], merged["p_zoom"]) == (1.3, 0.6)
    assert merged["max_warp"] == 0.0
    # The same step twice, or different padding, cannot be merged into one draw.
    assert len(fuse_affine([Rotate(10.0), Rotate(20.0)])) == 2
    assert len(fuse_affine([Flip(), Rotate(pad_mode="zeros")])) == 2


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ({"p_affine": 2.0}, "p_affine"),
        ({"max_rotate": -1.0}, "max_rotate"),
        ({"min_zoom": 1.2, "max_zoom": 1.1}, "min_zoom"),
        ({"max_warp": 0.5}, "max_warp"),
        ({"mode": "area"}, "mode"),
        ({"pad_mode": "wrap"}, "pad_mode"),
        ({"size": (8, 0)}, "size"),
    ],
)
def test_rejects_bad_args(args: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        AffineWarp(**args)
