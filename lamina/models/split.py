"""Parameter groups for freezing and discriminative learning rates, for any model."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from lamina.models.awd_lstm import (
    AWDLSTMClassifier,
    AWDLSTMLanguageModel,
    awd_lstm_clas_split,
    awd_lstm_lm_split,
)
from lamina.models.body import VisionModel
from lamina.models.text_transformer import (
    TransformerClassifier,
    TransformerLanguageModel,
    transformer_clas_split,
    transformer_lm_split,
)
from lamina.models.timm_body import TimmBody
from lamina.models.unet import DynamicUnet, unet_split

# text models: their split function, by class
_TEXT_SPLITS: dict[type[nn.Module], Callable[[Any], list[list[nn.Parameter]]]] = {
    AWDLSTMLanguageModel: awd_lstm_lm_split,
    AWDLSTMClassifier: awd_lstm_clas_split,
    TransformerLanguageModel: transformer_lm_split,
    TransformerClassifier: transformer_clas_split,
}


def default_split(model: nn.Module) -> list[list[nn.Parameter]]:
    """Split `model`'s parameters into groups, earliest layers first; pass it as `splitter`.

    - a `VisionModel` (from `create_vision_model`): [first half of the body, second half of
      the body, head]; for resnets: stem + layer1 + layer2 / layer3 + layer4 / head; a timm
      body is halved by timm's own grouping of its stages (`TimmBody.param_groups`);
    - a `DynamicUnet`: [encoder, decoder];
    - the text models: see `awd_lstm_lm_split`, `awd_lstm_clas_split`,
      `transformer_lm_split`, `transformer_clas_split`;
    - any other module: [every child before the last child with parameters, that child and
      the rest], or a single group when only one child holds parameters. Parameters held
      directly by the module join the first group.

    Empty groups are dropped, so `freeze()` (train the last group) always trains something.
    """
    if isinstance(model, VisionModel) and isinstance(model.body, TimmBody):
        groups = [*model.body.param_groups(), _params(model.head)]
    elif isinstance(model, VisionModel):
        body = model.body
        groups = [_params(body[: model.split]), _params(body[model.split :]), _params(model.head)]
    elif isinstance(model, DynamicUnet):
        groups = unet_split(model)
    elif type(model) in _TEXT_SPLITS:
        groups = _TEXT_SPLITS[type(model)](model)
    else:
        groups = _generic_split(model)
    return [group for group in groups if group]


def _params(module: nn.Module) -> list[nn.Parameter]:
    return list(module.parameters())


def _generic_split(model: nn.Module) -> list[list[nn.Parameter]]:
    children = list(model.children())
    with_params = [
        i for i, child in enumerate(children) if next(child.parameters(), None) is not None
    ]
    if len(with_params) < 2:
        return [_params(model)]
    last = with_params[-1]
    tail = [param for child in children[last:] for param in child.parameters()]
    seen = {id(param) for param in tail}
    return [[param for param in model.parameters() if id(param) not in seen], tail]
