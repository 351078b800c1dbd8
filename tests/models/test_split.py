import torch
from torch import nn

from lamina.models.body import create_body, create_vision_model
from lamina.models.simple_cnn import simple_cnn
from lamina.models.split import default_split
from lamina.models.unet import DynamicUnet


def _ids(group):
    return {id(param) for param in group}


def _assert_partition(model, groups):
    ids = [_ids(group) for group in groups]
    assert sum(len(group) for group in ids) == len(list(model.parameters()))
    assert set().union(*ids) == _ids(model.parameters())


def test_resnet_groups_are_stem_to_layer2_then_layer3_and_layer4_then_head():
    model = create_vision_model("resnet18", n_out=2)
    groups = default_split(model)
    assert len(groups) == 3
    _assert_partition(model, groups)
    body = model.body
    assert _ids(groups[0]) == _ids(body[:6].parameters())
    assert id(body.conv1.weight) in _ids(groups[0])
    assert id(body.layer2[1].bn2.weight) in _ids(groups[0])
    assert _ids(groups[1]) == _ids(list(body.layer3.parameters()) + list(body.layer4.parameters()))
    assert _ids(groups[2]) == _ids(model.head.parameters())


def test_any_module_splits_at_its_last_child_with_parameters():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 4), nn.ReLU())
    groups = default_split(model)
    assert [len(group) for group in groups] == [2, 2]
    assert groups[1][0] is model[2].weight


def test_single_child_gives_one_group_and_direct_params_join_the_first():
    assert len(default_split(nn.Linear(2, 2))) == 1
    assert len(default_split(nn.Sequential(nn.Linear(2, 2), nn.ReLU()))) == 1

    class WithScale(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(torch.ones(1))
            self.first, self.second = nn.Linear(2, 2), nn.Linear(2, 2)

    model = WithScale()
    groups = default_split(model)
    assert _ids(groups[0]) == {id(model.scale), id(model.first.weight), id(model.first.bias)}
    _assert_partition(model, groups)


def test_unet_splits_encoder_from_decoder():
    body = create_body(simple_cnn((3, 8, 16)))
    model = DynamicUnet(body, 2, img_size=16)
    groups = default_split(model)
    assert _ids(groups[0]) == _ids(body.parameters())
    _assert_partition(model, groups)
