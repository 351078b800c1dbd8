"""Tests for lamina.vision.data.images: reading every kind of image file, and PIL <-> tensor."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from lamina.vision.data.images import (
    ImageReadError,
    convert_image,
    image_size,
    image_to_tensor,
    mask_to_tensor,
    open_image,
    open_mask,
    tensor_to_image,
    verify_image,
)


def _noise_rgb(width: int, height: int, seed: int = 0) -> Image.Image:
    array = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return Image.fromarray(array)


def test_rgb_png_round_trips_exactly(tmp_path):
    original = _noise_rgb(7, 5)
    original.save(tmp_path / "a.png")
    img = open_image(tmp_path / "a.png")
    assert img.mode == "RGB"
    assert img.size == (7, 5)
    assert np.array_equal(np.asarray(img), np.asarray(original))


def test_grey_to_rgb_and_rgb_to_grey(tmp_path):
    Image.new("L", (4, 3), 77).save(tmp_path / "g.png")
    Image.new("RGB", (4, 3), (200, 200, 200)).save(tmp_path / "c.png")
    assert open_image(tmp_path / "g.png").getpixel((1, 1)) == (77, 77, 77)
    grey = open_image(tmp_path / "c.png", mode="L")
    assert grey.mode == "L"
    assert grey.getpixel((0, 0)) == 200


def test_sixteen_bit_is_scaled_not_clipped(tmp_path):
    array = np.array([[0, 257 * 100, 65535]], dtype=np.uint16)
    Image.fromarray(array).save(tmp_path / "deep.png")
    img = open_image(tmp_path / "deep.png", mode="L")
    assert list(np.asarray(img)[0]) == [0, 100, 255]
    assert open_image(tmp_path / "deep.png").getpixel((1, 0)) == (100, 100, 100)


def test_int32_mode_is_read_as_sixteen_bit(tmp_path):
    img = Image.fromarray(np.array([[0, 65535, 257 * 10]], dtype=np.int32))
    assert img.mode == "I"
    img.save(tmp_path / "i.tif")
    assert list(np.asarray(open_image(tmp_path / "i.tif", mode="L"))[0]) == [0, 255, 10]


def test_rgba_is_composited_over_white(tmp_path):
    array = np.zeros((1, 3, 4), dtype=np.uint8)
    array[0, 0] = (255, 0, 0, 255)  # opaque red
    array[0, 1] = (0, 0, 0, 0)  # fully transparent black
    array[0, 2] = (0, 0, 0, 128)  # half-transparent black
    Image.fromarray(array).save(tmp_path / "t.png")
    img = open_image(tmp_path / "t.png")
    assert img.getpixel((0, 0)) == (255, 0, 0)
    assert img.getpixel((1, 0)) == (255, 255, 255)
    assert all(120 <= c <= 135 for c in img.getpixel((2, 0)))


def test_la_to_grey_over_white(tmp_path):
    Image.new("LA", (2, 2), (0, 0)).save(tmp_path / "la.png")
    assert open_image(tmp_path / "la.png", mode="L").getpixel((0, 0)) == 255


def test_palette_with_transparency(tmp_path):
    img = Image.new("P", (2, 1))
    img.putpalette([0, 0, 255, 0, 255, 0] + [0] * 762)
    img.putpixel((0, 0), 0)
    img.putpixel((1, 0), 1)
    img.info["transparency"] = 0
    img.save(tmp_path / "p.png", transparency=0)
    out = open_image(tmp_path / "p.png")
    assert out.getpixel((0, 0)) == (255, 255, 255)
    assert out.getpixel((1, 0)) == (0, 255, 0)


def test_cmyk_jpeg_becomes_rgb(tmp_path):
    Image.new("CMYK", (8, 8), (0, 0, 0, 0)).save(tmp_path / "c.jpg")
    img = open_image(tmp_path / "c.jpg")
    assert img.mode == "RGB"
    assert all(c > 240 for c in img.getpixel((4, 4)))


@pytest.mark.parametrize(
    ("name", "content"),
    [("empty.jpg", b""), ("text.png", b"this is not an image at all")],
)
def test_bad_files_raise_naming_path(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ImageReadError, match=name):
        open_image(path)
    with pytest.raises(ImageReadError, match=name):
        verify_image(path)
    with pytest.raises(ImageReadError):
        image_size(path)


def test_missing_file_raises_image_read_error(tmp_path):
    with pytest.raises(ImageReadError, match="nowhere.jpg"):
        open_image(tmp_path / "nowhere.jpg")
    assert issubclass(ImageReadError, ValueError)


@pytest.mark.parametrize("draft", [None, (16, 16)])
def test_truncated_jpeg_raises_with_cause(tmp_path, draft):
    _noise_rgb(200, 150).save(tmp_path / "full.jpg", quality=90)
    data = (tmp_path / "full.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageReadError, match="cut.jpg.*truncated"):
        open_image(tmp_path / "cut.jpg", draft_size=draft)
    with pytest.raises(ImageReadError, match="truncated"):
        verify_image(tmp_path / "cut.jpg")
    verify_image(tmp_path / "full.jpg")


def test_draft_decodes_jpeg_at_reduced_scale(tmp_path):
    Image.new("RGB", (2000, 1500), (30, 60, 90)).save(tmp_path / "big.jpg")
    img = open_image(tmp_path / "big.jpg", draft_size=(64, 64))
    assert min(img.size) >= 64
    assert img.size[0] <= 2000 / 8 * 2
    # The smallest scale n/8 that covers the request: 4/8 here, 6/8 below.
    img = open_image(tmp_path / "big.jpg", draft_size=(900, 600))
    assert img.size == (1000, 750)
    assert open_image(tmp_path / "big.jpg", draft_size=(1500, 10)).size == (1500, 1125)
    assert open_image(tmp_path / "big.jpg", draft_size=(1501, 10)).size == (1750, 1313)
    grey = open_image(tmp_path / "big.jpg", mode="L", draft_size=(64, 64))
    assert grey.mode == "L"
    assert min(grey.size) >= 64


def _smooth_rgb(width: int, height: int) -> Image.Image:
    ys, xs = np.mgrid[0:height, 0:width]
    array = np.stack([xs * 255 // width, ys * 255 // height, (xs + ys) % 256], axis=-1)
    return Image.fromarray(array.astype(np.uint8))


@pytest.mark.parametrize("progressive", [False, True])
def test_jpeg_pixels_are_pillows_whichever_decoder_reads_them(tmp_path, monkeypatch, progressive):
    import sys

    _smooth_rgb(90, 70).save(tmp_path / "a.jpg", quality=85, progressive=progressive)
    _smooth_rgb(90, 70).convert("L").save(tmp_path / "g.jpg", quality=85)
    fast = [np.asarray(open_image(tmp_path / name, mode)) for name in ("a.jpg", "g.jpg")
            for mode in ("RGB", "L")]  # fmt: skip
    monkeypatch.setitem(sys.modules, "simplejpeg", None)  # import fails: Pillow alone
    slow = [np.asarray(open_image(tmp_path / name, mode)) for name in ("a.jpg", "g.jpg")
            for mode in ("RGB", "L")]  # fmt: skip
    with Image.open(tmp_path / "a.jpg") as img:
        pillow = np.asarray(img.convert("RGB"))
    np.testing.assert_array_equal(fast[0], pillow)
    for ours, theirs in zip(fast, slow, strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_decoded_jpeg_images_can_be_drawn_on(tmp_path):
    _smooth_rgb(40, 30).convert("L").save(tmp_path / "g.jpg")
    for mode in ("RGB", "L"):
        img = open_image(tmp_path / "g.jpg", mode)
        img.paste(0, (0, 0, 5, 5))  # a buffer-backed image would be read-only
        assert np.asarray(img)[0, 0].max() == 0


def test_draft_ignored_for_png(tmp_path):
    Image.new("RGB", (400, 300)).save(tmp_path / "big.png")
    assert open_image(tmp_path / "big.png", draft_size=(10, 10)).size == (400, 300)


def test_image_size_reads_header(tmp_path):
    Image.new("RGB", (123, 45)).save(tmp_path / "s.jpg")
    assert image_size(tmp_path / "s.jpg") == (123, 45)


def test_open_image_rejects_bad_mode(tmp_path):
    with pytest.raises(ValueError, match="mode.*'CMYK'"):
        open_image(tmp_path / "x.png", mode="CMYK")


def test_open_mask_keeps_indices(tmp_path):
    mask = Image.new("P", (3, 1))
    mask.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0] + [0] * 759)
    for x, value in enumerate((0, 1, 2)):
        mask.putpixel((x, 0), value)
    mask.save(tmp_path / "m.png")
    loaded = open_mask(tmp_path / "m.png")
    assert mask_to_tensor(loaded).tolist() == [[0, 1, 2]]
    assert mask_to_tensor(loaded).dtype == torch.int64


def test_open_mask_sixteen_bit_and_bilevel(tmp_path):
    Image.fromarray(np.array([[0, 300]], dtype=np.uint16)).save(tmp_path / "m16.png")
    assert mask_to_tensor(open_mask(tmp_path / "m16.png")).tolist() == [[0, 300]]
    Image.new("1", (2, 1), 1).save(tmp_path / "b.png")
    assert mask_to_tensor(open_mask(tmp_path / "b.png")).tolist() == [[1, 1]]


def test_open_mask_rejects_rgb(tmp_path):
    Image.new("RGB", (2, 2)).save(tmp_path / "rgb.png")
    with pytest.raises(ImageReadError, match="rgb.png.*'RGB'"):
        open_mask(tmp_path / "rgb.png")


def test_image_to_tensor_layout():
    img = _noise_rgb(5, 4)
    tensor = image_to_tensor(img)
    assert tensor.shape == (3, 4, 5)
    assert tensor.dtype == torch.uint8
    assert tensor.is_contiguous()
    assert tensor[:, 2, 3].tolist() == list(img.getpixel((3, 2)))
    grey = image_to_tensor(Image.new("L", (5, 4), 9))
    assert grey.shape == (1, 4, 5)
    assert int(grey[0, 0, 0]) == 9


def test_image_to_tensor_rejects_sixteen_bit():
    with pytest.raises(ValueError, match="8-bit"):
        image_to_tensor(Image.new("I;16", (2, 2)))


def test_tensor_to_image_round_trip_and_float():
    img = _noise_rgb(6, 3)
    assert np.array_equal(np.asarray(tensor_to_image(image_to_tensor(img))), np.asarray(img))
    grey = tensor_to_image(torch.full((1, 2, 2), 0.5))
    assert grey.mode == "L"
    assert grey.getpixel((0, 0)) == 128
    clamped = tensor_to_image(torch.tensor([[2.0, -1.0]]))
    assert list(np.asarray(clamped)[0]) == [255, 0]
    with pytest.raises(ValueError, match="C, H, W"):
        tensor_to_image(torch.zeros(2, 3, 3))


def test_convert_image_in_memory():
    deep = Image.fromarray(np.array([[65535, 0]], dtype=np.uint16))
    assert convert_image(deep).getpixel((0, 0)) == (255, 255, 255)
    rgb = Image.new("RGB", (1, 1))
    assert convert_image(rgb) is rgb
    assert convert_image(Image.new("RGBA", (1, 1)), mode="L").getpixel((0, 0)) == 255
    with pytest.raises(ValueError, match="mode.*'P'"):
        convert_image(rgb, mode="P")


def _jpeg_claiming(path, width: int, height: int) -> None:
    """A real 16x16 JPEG whose frame header (SOF0) is patched to declare `width` x `height`."""
    Image.new("RGB", (16, 16), (200, 30, 30)).save(path, "JPEG")
    data = bytearray(path.read_bytes())
    sof = data.index(b"\xff\xc0")  # marker, length (2), precision (1), height (2), width (2)
    data[sof + 5 : sof + 7] = height.to_bytes(2, "big")
    data[sof + 7 : sof + 9] = width.to_bytes(2, "big")
    path.write_bytes(bytes(data))


def test_jpeg_bomb_refused_before_any_decoder_runs(tmp_path, monkeypatch):
    import simplejpeg

    def no_decoding(*args, **kwargs):
        raise AssertionError("a decoder ran on a decompression bomb")

    monkeypatch.setattr(simplejpeg, "decode_jpeg", no_decoding)
    bomb = tmp_path / "bomb.jpg"
    _jpeg_claiming(bomb, 20000, 20000)
    assert bomb.stat().st_size < 1000
    with pytest.raises(ImageReadError, match="bomb.jpg"):
        open_image(bomb)


def test_pixel_limit_follows_pillow_setting(tmp_path, monkeypatch):
    path = tmp_path / "small.jpg"
    Image.new("RGB", (64, 64), (10, 200, 10)).save(path, "JPEG")
    assert open_image(path).size == (64, 64)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 4096 pixels > 2 x 1000
    with pytest.raises(ImageReadError, match=r"small\.jpg.*exceeds limit"):
        open_image(path)
