import pytest
import torch
from torch import nn

from lamina.models.body import (
    VisionModel,
    body_split,
    create_body,
    create_head,
    create_vision_model,
)
from lamina.models.layers import AdaptiveConcatPool2d, Flatten, SigmoidRange
from lamina.models.registry import build_model
from lamina.models.resnet import resnet18
from lamina.models.simple_cnn import simple_cnn


def test_resnet_body_stops_before_global_pooling():
    body = create_body("resnet18")
    names = [name for name, _ in body.named_children()]
    assert names == ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4"]
    assert body(torch.randn(2, 3, 32, 32)).shape == (2, 512, 1, 1)


def test_body_from_a_module_and_other_input_channels():
    body = create_body(simple_cnn((3, 8, 16)), n_in=1)
    assert len(body) == 2
    assert body(torch.randn(2, 1, 16, 16)).shape == (2, 16, 4, 4)


def test_cut_by_index_and_by_callable():
    assert len(create_body("resnet18", cut=-3)) == 7
    body = create_body("simple_cnn", cut=lambda model: model[0])
    assert isinstance(body, nn.Sequential)
    assert body(torch.randn(2, 3, 8, 8)).shape == (2, 16, 4, 4)


def test_errors_for_missing_pool_bad_cut_and_pretrained_true():
    with pytest.raises(ValueError, match="no global pooling layer"):
        create_body(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()))
    with pytest.raises(ValueError, match="cut must be"):
        create_body("simple_cnn", cut=99)
    with pytest.raises(ValueError, match="pretrained=True"):
        create_body("resnet18", pretrained=True)
    with pytest.raises(TypeError, match="arch"):
        create_body(3)


def test_pretrained_state_dict_is_loaded_then_adapted():
    source = resnet18()
    body = create_body("resnet18", pretrained=source.state_dict(), n_in=1)
    assert torch.equal(body.layer4[1].conv2.weight, source.layer4[1].conv2.weight)
    assert torch.allclose(body.conv1.weight, source.conv1.weight.sum(dim=1, keepdim=True))


def test_pretrained_state_dict_for_another_architecture_fails_clearly():
    state = simple_cnn().state_dict()
    with pytest.raises(ValueError, match="missing keys: conv1.weight"):
        create_body("resnet18", pretrained=state)


def test_head_layers_in_order():
    head = create_head(64, 5)
    kinds = [type(layer) for layer in head]
    assert kinds == [AdaptiveConcatPool2d, Flatten, nn.BatchNorm1d, nn.Dropout, nn.Linear,
                     nn.ReLU, nn.BatchNorm1d, nn.Dropout, nn.Linear]  # fmt: skip
    assert head[2].num_features == 128  # concat pooling doubles the features
    assert head[3].p == 0.25
    assert head[7].p == 0.5
    assert head(torch.randn(2, 64, 3, 3)).shape == (2, 5)


def test_head_options():
    head = create_head(8, 2, hidden=None, pool=False, first_bn=False, bn_final=True,
                       dropout=0.0, y_range=(0, 5))  # fmt: skip
    assert [type(layer) for layer in head] == [nn.Dropout, nn.Linear, nn.BatchNorm1d, SigmoidRange]
    out = head(torch.randn(4, 8) * 100)
    assert out.min() >= 0
    assert out.max() <= 5
    plain = create_head(8, 2, concat_pool=False)
    assert isinstance(plain[0], nn.AdaptiveAvgPool2d)
    assert plain[2].num_features == 8


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"n_out": 0}, "n_out"), ({"dropout": 1.0}, "dropout"), ({"y_range": (1,)}, "y_range"),
     ({"hidden": 0}, "hidden")],
)  # fmt: skip
def test_head_rejects_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        create_head(**({"n_features": 8, "n_out": 2} | kwargs))


def test_vision_model_from_resnet18_on_small_grey_images():
    model = create_vision_model("resnet18", n_out=10, n_in=1)
    assert isinstance(model, VisionModel)
    assert model(torch.randn(2, 1, 32, 32)).shape == (2, 10)
    assert list(model.body.named_children())[model.split][0] == "layer3"
    assert model.head[2].num_features == 1024


def test_vision_model_for_xresnet_and_simple_cnn():
    model = create_vision_model("xresnet18", n_out=3, y_range=(0, 1))
    out = model(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 3)
    assert ((out > 0) & (out < 1)).all()
    assert list(model.body.named_children())[model.split][0] == "stage3"
    assert create_vision_model("simple_cnn", n_out=2).split == 2


def test_body_split_halves_resolution_levels():
    def shapes(*sizes):
        return [torch.Size((1, 4, s, s)) for s in sizes]

    # resnet-like: stem (3 children) / maxpool + layer1 / layer2 / layer3 / layer4
    assert body_split(shapes(16, 16, 16, 8, 8, 4, 2, 1)) == 6
    assert body_split(shapes(8, 4)) == 1
    assert body_split(shapes(8, 8, 8, 8)) == 2


def test_vision_model_validates_split():
    with pytest.raises(ValueError, match="split"):
        VisionModel(nn.Sequential(nn.Identity()), nn.Identity(), split=3)


def test_vision_model_is_registered_for_rebuilding():
    model = build_model("vision_model", arch="simple_cnn", n_out=4, n_in=2, y_range=[0, 1])
    assert isinstance(model, VisionModel)
    assert model(torch.randn(2, 2, 16, 16)).shape == (2, 4)
