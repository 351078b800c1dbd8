import torch

from lamina.models.upsample import PixelShuffleUpsample, icnr_


def test_icnr_upsampling_starts_as_nearest_neighbour():
    up = PixelShuffleUpsample(4, 3)
    out = up(torch.randn(2, 4, 5, 6))
    assert out.shape == (2, 3, 10, 12)
    # every 2x2 output patch holds one value: no checkerboard at init
    top_left = out[..., 0::2, 0::2]
    for dy, dx in [(0, 1), (1, 0), (1, 1)]:
        assert torch.equal(out[..., dy::2, dx::2], top_left)


def test_icnr_repeats_each_kernel_per_sub_pixel():
    weight = icnr_(torch.empty(8, 3, 1, 1), scale=2)
    assert torch.equal(weight[0], weight[3])
    assert not torch.equal(weight[0], weight[4])


def test_blur_keeps_the_shape():
    up = PixelShuffleUpsample(4, blur=True)
    assert up(torch.randn(2, 4, 3, 5)).shape == (2, 4, 6, 10)
