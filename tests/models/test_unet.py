import pytest
import torch
from torch import nn

from lamina.models.attention import SelfAttention
from lamina.models.body import create_body
from lamina.models.registry import build_model
from lamina.models.simple_cnn import simple_cnn
from lamina.models.unet import DynamicUnet, create_unet_model, unet_split


@pytest.mark.parametrize(
    ("arch", "size"),
    [("resnet18", (32, 32)), ("resnet18", (33, 45)), ("resnet34", (32, 32)),
     ("resnet50", (32, 48)), ("xresnet18", (40, 40)), ("simple_cnn", (21, 30))],
)  # fmt: skip
def test_output_matches_input_size(arch, size):
    unet = DynamicUnet(create_body(arch), n_out=3, img_size=size)
    assert unet(torch.randn(2, 3, *size)).shape == (2, 3, *size)


def test_other_sizes_than_construction_and_grey_input():
    unet = DynamicUnet(create_body("resnet18", n_in=1), n_out=2, img_size=32)
    assert unet(torch.randn(2, 1, 37, 50)).shape == (2, 2, 37, 50)


def test_resnet_skips_are_the_last_child_at_each_resolution():
    unet = DynamicUnet(create_body("resnet18"), n_out=1, img_size=(64, 64))
    names = [name for name, _ in unet.encoder.named_children()]
    assert [names[i] for i in unet.skip_indices] == ["relu", "layer1", "layer2", "layer3"]
    assert len(unet.up_blocks) == 4


def test_gradients_reach_the_body():
    body = create_body(simple_cnn((3, 8, 16)))
    unet = DynamicUnet(body, n_out=2, img_size=(16, 16))
    unet(torch.randn(2, 3, 16, 16)).sum().backward()
    assert body[0].conv.weight.grad is not None
    assert body[0].conv.weight.grad.abs().sum() > 0


def test_hooks_are_removed_and_modes_kept():
    body = create_body("resnet18")
    DynamicUnet(body, n_out=2, img_size=(32, 32))
    assert all(not module._forward_hooks for module in body.modules())
    assert body.training
    assert body.bn1.num_batches_tracked.item() == 0


def test_options_blur_attention_range_and_no_cross():
    body = create_body("resnet18")
    unet = DynamicUnet(body, n_out=1, img_size=(32, 32), blur=True, self_attention=True,
                       y_range=(-1, 1), last_cross=False)  # fmt: skip
    assert sum(isinstance(m, SelfAttention) for m in unet.modules()) == 1
    assert any(isinstance(m, nn.AvgPool2d) for m in unet.modules())
    out = unet(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 1, 32, 32)
    assert out.abs().max() < 1


def test_unet_split_groups():
    body = create_body(simple_cnn((3, 8, 16)))
    unet = DynamicUnet(body, n_out=2, img_size=16)
    encoder, decoder = unet_split(unet)
    assert {id(p) for p in encoder} == {id(p) for p in body.parameters()}
    assert len(encoder) + len(decoder) == len(list(unet.parameters()))


def test_rejects_bad_arguments():
    with pytest.raises(TypeError, match="nn.Sequential"):
        DynamicUnet(nn.Conv2d(3, 3, 3), n_out=2)
    with pytest.raises(ValueError, match="img_size"):
        DynamicUnet(create_body("simple_cnn"), n_out=2, img_size=(16,))


def test_create_unet_model_is_registered_for_rebuilding():
    unet = build_model("unet", arch="simple_cnn", n_out=2, img_size=[16, 16], n_in=1, blur=True)
    assert isinstance(unet, DynamicUnet)
    assert unet(torch.randn(2, 1, 16, 16)).shape == (2, 2, 16, 16)
    assert isinstance(create_unet_model("simple_cnn", 1, 16), DynamicUnet)
