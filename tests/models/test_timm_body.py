"""timm bodies: timm's trunk without its classifier, lamina's head, timm's stage groups.

Marked `timm`: they run in the environment `make test-timm` builds, and are skipped (saying
why) where timm is not installed. timm's tiny test architectures (`test_resnet`,
`test_convnext`, `test_vit`, a few hundred thousand parameters) keep them fast.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lamina.models import create_body, create_vision_model, default_split
from lamina.models.timm_body import TimmBody, timm_pretrained_stats
from lamina.vision.transforms.normalize import imagenet_stats
from lamina.vision.weights import resolve_pretrained

pytestmark = pytest.mark.timm


def names_of(params: list[nn.Parameter], model: nn.Module) -> list[str]:
    by_id = {id(param): name for name, param in model.named_parameters()}
    return [by_id[id(param)] for param in params]


def test_body_is_the_trunk_without_pooling_or_classifier() -> None:
    body = create_body("timm/resnet18")
    assert isinstance(body, TimmBody)
    assert (body.timm_name, body.num_features, body.pooled) == ("resnet18", 512, False)
    assert body(torch.randn(2, 3, 64, 64)).shape == (2, 512, 2, 2)  # a map: lamina pools it
    assert not any(name.startswith("fc.") for name, _ in body.model.named_parameters())
    # "timm:" names the same architecture.
    assert create_body("timm:resnet18").state_dict().keys() == body.state_dict().keys()


def test_vision_model_puts_lamina_head_on_timm_features() -> None:
    model = create_vision_model("timm/test_convnext", n_out=5, n_in=1)
    assert model.body.model.stem[0].in_channels == 1
    assert model(torch.randn(2, 1, 48, 48)).shape == (2, 5)
    # lamina's concat pooling doubles timm's 64 features
    assert model.head[2].num_features == 2 * model.body.num_features == 128


def test_token_features_are_pooled_by_timm_and_the_head_does_not_pool() -> None:
    model = create_vision_model("timm/test_vit", n_out=3)
    assert model.body.pooled
    assert model.body(torch.randn(2, 3, 160, 160)).shape == (2, 64)
    assert not isinstance(model.head[0], nn.AdaptiveAvgPool2d)
    assert model(torch.randn(2, 3, 160, 160)).shape == (2, 3)


def test_channels_last_maps_are_pooled_by_timm_too() -> None:
    model = create_vision_model("timm/test_mambaout", n_out=3)  # timm gives (B, h, w, C) maps
    assert model.body.pooled
    assert model.body(torch.randn(2, 3, 64, 64)).shape == (2, model.body.num_features)
    assert model(torch.randn(2, 3, 64, 64)).shape == (2, 3)


def test_the_feature_count_is_measured_not_read() -> None:
    # MobileNetV3's head convolution widens the 288 features timm reports to 1024
    model = create_vision_model("timm/mobilenetv3_small_050", n_out=3)
    assert (model.body.model.num_features, model.body.num_features) == (288, 1024)
    assert model(torch.randn(2, 3, 64, 64)).shape == (2, 3)


def test_groups_follow_timm_stages() -> None:
    model = create_vision_model("timm/resnet18", n_out=2)
    early, late, head = default_split(model)
    early_names, late_names = names_of(early, model), names_of(late, model)
    stage = lambda name: name.split(".")[2]  # noqa: E731  ("body.model.layer3.0.conv1.weight")
    assert {stage(name) for name in early_names} == {"conv1", "bn1", "layer1", "layer2"}
    assert {stage(name) for name in late_names} == {"layer3", "layer4"}
    assert names_of(head, model) == [name for name, _ in model.head.named_parameters(prefix="head")]
    assert len(early) + len(late) + len(head) == len(list(model.parameters()))
    # ConvNeXt: stem + stages 0-1, then stages 2-3 and the final norm.
    convnext = create_vision_model("timm/test_convnext", n_out=2)
    early, late, _ = default_split(convnext)
    assert {name.split(".")[2] for name in names_of(early, convnext)} == {"stem", "stages"}
    assert names_of(late, convnext)[-1] == "body.model.head.norm.bias"


def test_a_timm_checkpoint_loads_without_its_classifier_and_adapts_to_grey() -> None:
    import timm

    source = timm.create_model("test_resnet", num_classes=1000)
    state = source.state_dict()
    body = create_body("timm/test_resnet", pretrained=state, n_in=1)
    target = body.model.state_dict()
    assert "fc.weight" in state
    assert "fc.weight" not in target
    torch.testing.assert_close(target["layer4.0.conv1.weight"], state["layer4.0.conv1.weight"])
    # timm sums RGB kernels for one channel
    expected = state["conv1.0.weight"].sum(dim=1, keepdim=True)
    torch.testing.assert_close(target["conv1.0.weight"], expected)


def test_a_saved_timm_body_loads_back() -> None:
    saved = create_body("timm/test_resnet").state_dict()  # keys "model.<timm name>"
    body = create_body("timm/test_resnet", pretrained=saved)
    for key, value in body.state_dict().items():
        assert torch.equal(value, saved[key]), key


def test_pretrained_true_asks_timm_for_its_weights(monkeypatch: pytest.MonkeyPatch) -> None:
    import timm

    calls = []
    create = timm.create_model

    def offline(name: str, **kwargs):  # no network here: record the request, build random
        calls.append(kwargs["pretrained"])
        return create(name, **{**kwargs, "pretrained": False})

    monkeypatch.setattr(timm, "create_model", offline)
    create_body("timm/test_resnet", pretrained=True)
    assert calls == [True]
    # ...and normalizes with the statistics timm records for those weights.
    assert timm_pretrained_stats("timm/test_resnet") == ((0.5,) * 3, (0.5,) * 3)
    assert resolve_pretrained("timm:resnet18", True) == (True, imagenet_stats)


def test_no_hub_says_what_to_do_instead(monkeypatch: pytest.MonkeyPatch) -> None:
    import timm

    def unreachable(name: str, **kwargs):
        raise FileNotFoundError("cannot find the requested files in the local cache")

    monkeypatch.setattr(timm, "create_model", unreachable)
    with pytest.raises(RuntimeError, match=r"could not fetch .*'test_resnet'.*pretrained=False"):
        create_body("timm/test_resnet", pretrained=True)


def test_bad_names_and_arguments_are_explained() -> None:
    with pytest.raises(ValueError, match=r"no model 'resnet19'.*close names: .*resnet"):
        create_body("timm/resnet19")
    with pytest.raises(ValueError, match="cut=3 does not apply"):
        create_body("timm/test_resnet", cut=3)
    with pytest.raises(ValueError, match="missing keys"):
        create_body("timm/test_resnet", pretrained={"conv.weight": torch.zeros(1)})
