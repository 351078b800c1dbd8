"""Cut a classifier into a body (the feature extractor) and give it a new head.

`create_vision_model("resnet18", n_out=10)` is the usual entry point: the registered
architecture without its pooling and classifier, then `create_head`'s pooling, BatchNorm,
dropout and linear layers.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import nn

from lamina.core.registry import register
from lamina.models._checks import check_positive_int, check_probability
from lamina.models.channels import adapt_input_channels
from lamina.models.layers import AdaptiveConcatPool2d, Flatten, SigmoidRange
from lamina.models.pretrained import load_weights
from lamina.models.probe import child_output_shapes, dummy_input
from lamina.models.registry import build_model
from lamina.models.timm_body import TimmBody, timm_model_name

Pretrained = bool | Mapping[str, torch.Tensor]
Cut = int | Callable[[nn.Module], nn.Module] | None

_GLOBAL_POOLS = (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d, AdaptiveConcatPool2d)
_PROBE_SIZE = (64, 64)


def create_body(
    arch: str | nn.Module, pretrained: Pretrained = False, n_in: int = 3, cut: Cut = None
) -> nn.Sequential:
    """The model `arch` without its global pooling and classifier, as an `nn.Sequential`.

    Shapes: (B, n_in, H, W) -> (B, C, h, w), the last feature map (h = H / 32 for resnets).

    Args:
        arch: a registered model name (see `model_names()`), `"timm/<name>"` (a `TimmBody`,
            see `lamina.models.timm_body`; timm must be installed), or a module; a module is
            adapted in place when `n_in` differs from its first conv.
        pretrained: False for random weights, or a state dict for the whole architecture
            (classifier included), loaded with strict name and shape checks; True only for
            timm architectures (timm downloads its own weights).
        n_in: input channels; pretrained kernels are adapted by `adapt_input_channels`.
        cut: where to cut: None before the last global pooling child, an int to keep the
            first `cut` children, or a callable returning the body from the model (not for
            timm architectures, which are cut before timm's pooling).

    Example:
        >>> body = create_body("resnet18", n_in=1)
        >>> body(torch.randn(2, 1, 64, 64)).shape
        torch.Size([2, 512, 2, 2])
    """
    check_positive_int("n_in", n_in)
    name = timm_model_name(arch)
    if name is not None:
        if cut is not None:
            raise ValueError(
                f"cut={cut!r} does not apply to the timm architecture {arch!r}, which is cut "
                "before timm's pooling and classifier; pass cut=None"
            )
        if not isinstance(pretrained, (bool, Mapping)):
            raise ValueError(f"pretrained must be a bool or a state dict, got {type(pretrained)}")
        return TimmBody(name, pretrained, n_in)
    model = _make_model(arch, pretrained, n_in)
    return _cut_model(model, cut)


def _make_model(arch: str | nn.Module, pretrained: Pretrained, n_in: int) -> nn.Module:
    has_state = isinstance(pretrained, Mapping)
    if not (has_state or isinstance(pretrained, bool)):
        raise ValueError(f"pretrained must be a bool or a state dict, got {type(pretrained)}")
    if isinstance(arch, nn.Module):
        if pretrained is True:
            raise ValueError("pretrained=True needs an architecture name; pass a state dict")
        model = arch
    elif isinstance(arch, str):
        if pretrained is True:
            raise ValueError(
                f"pretrained=True: no weights source is available for {arch!r}; "
                "pass pretrained=<state dict> instead"
            )
        model = build_model(arch) if has_state else build_model(arch, in_chans=n_in)
    else:
        raise TypeError(f"arch must be a model name or an nn.Module, got {type(arch).__name__}")
    if isinstance(pretrained, Mapping):
        load_weights(model, pretrained)
    return adapt_input_channels(model, n_in)


def _cut_model(model: nn.Module, cut: Cut) -> nn.Sequential:
    children = list(model.named_children())
    if callable(cut):
        body = cut(model)
        return body if isinstance(body, nn.Sequential) else nn.Sequential(body)
    if cut is None:
        pools = [i for i, (_, child) in enumerate(children) if _is_global_pool(child)]
        if not pools:
            names = ", ".join(name for name, _ in children)
            raise ValueError(
                f"no global pooling layer among the children of {type(model).__name__} "
                f"({names}); pass cut=<index> or cut=<callable>"
            )
        cut = pools[-1]
    if not isinstance(cut, int) or not 0 < abs(cut) < len(children):
        raise ValueError(f"cut must be an index inside the {len(children)} children, got {cut!r}")
    return nn.Sequential(OrderedDict(children[:cut]))


def _is_global_pool(module: nn.Module) -> bool:
    # timm's SelectAdaptivePool2d (in a timm model given as a module) is matched by name, so
    # timm is never imported here.
    return isinstance(module, _GLOBAL_POOLS) or "AdaptivePool" in type(module).__name__


def create_head(
    n_features: int,
    n_out: int,
    hidden: int | None = 512,
    pool: bool = True,
    concat_pool: bool = True,
    first_bn: bool = True,
    bn_final: bool = False,
    dropout: float = 0.5,
    y_range: Sequence[float] | None = None,
) -> nn.Sequential:
    """A classifier head for a body with `n_features` output channels.

    Shapes: (B, n_features, h, w) -> (B, n_out) when `pool`; (B, n_features) -> (B, n_out)
    otherwise. Layers: [concat] pooling, flatten, BatchNorm, dropout / 2, linear to `hidden`,
    ReLU, BatchNorm, dropout, linear to `n_out` (`hidden=None` skips the middle layer), then
    an optional BatchNorm (`bn_final`) and `SigmoidRange(*y_range)`.

    Args:
        concat_pool: max- and average-pool concatenated (doubles the features) instead of
            average pooling alone.
        first_bn: start with BatchNorm over the pooled features.
        y_range: (low, high) to squash the outputs into, for regression.
    """
    check_positive_int("n_features", n_features)
    check_positive_int("n_out", n_out)
    if hidden is not None:
        check_positive_int("hidden", hidden)
    check_probability("dropout", dropout)
    if y_range is not None and len(y_range) != 2:
        raise ValueError(f"y_range must be (low, high), got {y_range!r}")
    layers: list[nn.Module] = []
    features = n_features
    if pool:
        layers.append(AdaptiveConcatPool2d() if concat_pool else nn.AdaptiveAvgPool2d(1))
        layers.append(Flatten())
        features *= 2 if concat_pool else 1
    if first_bn:
        layers.append(nn.BatchNorm1d(features))
    if hidden is not None:
        layers += [nn.Dropout(dropout / 2), nn.Linear(features, hidden), nn.ReLU(inplace=True),
                   nn.BatchNorm1d(hidden)]  # fmt: skip
        features = hidden
    layers += [nn.Dropout(dropout), nn.Linear(features, n_out)]
    if bn_final:
        layers.append(nn.BatchNorm1d(n_out))
    if y_range is not None:
        layers.append(SigmoidRange(*y_range))
    return nn.Sequential(*layers)


class VisionModel(nn.Sequential):
    """A body and a head in sequence: (B, n_in, H, W) -> body -> head -> (B, n_out).

    `split` is the index of the first body child in the second half of the body; `default_split`
    uses it to make the parameter groups [body[:split], body[split:], head].
    """

    def __init__(self, body: nn.Sequential, head: nn.Module, split: int) -> None:
        if not isinstance(body, nn.Sequential):
            raise TypeError(f"body must be an nn.Sequential, got {type(body).__name__}")
        if not 0 <= split <= len(body):
            raise ValueError(f"split must be in [0, {len(body)}], got {split!r}")
        super().__init__(OrderedDict(body=body, head=head))
        self.split = split

    # Children registered by `nn.Sequential`, typed for readers of `model.body` and `model.head`.
    body: nn.Sequential
    head: nn.Module


def body_split(shapes: Sequence[torch.Size]) -> int:
    """Where to halve a body, given each child's output shape: between resolution levels.

    Consecutive children with the same spatial size form a level (for a resnet: the stem,
    maxpool + layer1, layer2, layer3, layer4); the first half holds the first ceil(levels / 2)
    levels (stem to layer2). With one level only, the children are halved by count.
    """
    starts = [i for i, shape in enumerate(shapes) if i == 0 or shape[2:] != shapes[i - 1][2:]]
    if len(starts) < 2:
        return len(shapes) // 2
    return starts[math.ceil(len(starts) / 2)] if len(starts) > 2 else starts[1]


@register("model", "vision_model")
def create_vision_model(
    arch: str | nn.Module,
    n_out: int,
    pretrained: Pretrained = False,
    n_in: int = 3,
    cut: Cut = None,
    **head_kwargs: Any,
) -> VisionModel:
    """A body from `create_body` and a head from `create_head`, ready for fine-tuning.

    Shapes: (B, n_in, H, W) -> (B, n_out). `head_kwargs` go to `create_head`. Registered as
    the model `"vision_model"`, so `build_model("vision_model", arch="resnet18", n_out=10)`
    rebuilds it from JSON arguments (then load its weights).

    Example:
        >>> model = create_vision_model("resnet18", n_out=10, n_in=1)
        >>> model(torch.randn(2, 1, 32, 32)).shape
        torch.Size([2, 10])
    """
    check_positive_int("n_out", n_out)
    body = create_body(arch, pretrained, n_in, cut)
    if isinstance(body, TimmBody):  # its groups come from timm (see `default_split`)
        head = create_head(body.num_features, n_out, pool=not body.pooled, **head_kwargs)
        return VisionModel(body, head, split=0)
    shapes = child_output_shapes(body, dummy_input(body, _PROBE_SIZE, n_in))
    head = create_head(int(shapes[-1][1]), n_out, **head_kwargs)
    return VisionModel(body, head, body_split(shapes))
