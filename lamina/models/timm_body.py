"""Bodies from timm (PyTorch Image Models), the optional package of several hundred architectures.

An architecture named `"timm/<name>"` (or `"timm:<name>"`) is `timm.create_model(<name>,
num_classes=0, global_pool="")`: the whole trunk timm trained (its last convolution or norm
included), without timm's classifier and without its pooling, so that lamina's own head
(`create_head`: concat pooling, BatchNorm, dropout, linear) sits on the last feature map as it
does on lamina's resnets. `features_only` is not used: it is missing for some architectures and
stops at the last stage, which drops layers after it that the pretrained weights include
(EfficientNet's 1280-channel head convolution, for instance). Architectures whose features are
not a channels-first map (a vision transformer's tokens, Swin's channels-last maps) keep timm's
own pooling and get a head without one. The feature count is measured on a zero image, not read
from `num_features` (MobileNetV3 widens its features after that).

The parameter groups for `freeze` and discriminative learning rates follow timm's own coarse
grouping of each architecture (`model.group_matcher(coarse=True)`: the stem, then each stage,
then what follows the stages), halved into early and late layers.

timm is imported inside these functions only, never when lamina is imported.
"""

from __future__ import annotations

import difflib
import math
import warnings
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from lamina.models._checks import check_positive_int
from lamina.models.pretrained import load_weights

TIMM_PREFIXES = ("timm/", "timm:")
_PROBE_SIZE = (64, 64)  # input size for the feature probe of models that take any size


def timm_model_name(arch: Any) -> str | None:
    """The timm model name in `"timm/<name>"` or `"timm:<name>"`, else None."""
    if not isinstance(arch, str):
        return None
    for prefix in TIMM_PREFIXES:
        if arch.startswith(prefix):
            return arch[len(prefix) :]
    return None


def import_timm(arch: str) -> Any:
    """The `timm` module; an `ImportError` saying how to install it when it is missing."""
    try:
        import timm
    except ImportError as error:
        raise ImportError(
            f"the architecture {arch!r} needs the optional timm package, which is not "
            "installed: pip install timm (or use a lamina architecture such as 'resnet18')"
        ) from error
    return timm


def _create(timm: Any, name: str, **kwargs: Any) -> nn.Module:
    local = name.startswith(("hf-hub:", "local-dir:"))
    if not local and not timm.is_model(name):
        close = difflib.get_close_matches(name.split(".")[0], timm.list_models(), n=6)
        hint = f"; close names: {', '.join(close)}" if close else ""
        raise ValueError(
            f"timm {timm.__version__} has no model {name!r}{hint} (timm.list_models('*...*') "
            "lists them)"
        )
    try:
        return timm.create_model(name, **kwargs)
    except (OSError, RuntimeError) as error:
        if not kwargs.get("pretrained"):
            raise
        raise RuntimeError(
            f"timm could not fetch the pretrained weights of {name!r} from its hub ({error}); "
            "offline, pass pretrained=False, or pretrained='<weights file>'"
        ) from error


class TimmBody(nn.Sequential):
    """A timm model without its classifier, as a one-child `nn.Sequential` (what `VisionModel`
    and `create_body` hand around).

    Shapes: (B, n_in, H, W) -> (B, num_features, h, w), or (B, num_features) when `pooled`
    (architectures whose features are tokens, pooled by timm itself).

    Args:
        name: the timm model name (`"resnet18"`, `"convnext_atto"`, `"resnet50.a1_in1k"`).
        pretrained: True downloads timm's pretrained weights through timm's own hub; a state
            dict (timm's names, its classifier ignored) is loaded with strict checks; False
            gives random weights.
        n_in: input channels; pretrained RGB kernels are adapted by timm's `adapt_input_conv`.

    Example:
        >>> body = TimmBody("resnet18", n_in=1)  # as create_body("timm/resnet18", n_in=1)
        >>> body(torch.randn(2, 1, 64, 64)).shape
        torch.Size([2, 512, 2, 2])
    """

    def __init__(
        self, name: str, pretrained: bool | Mapping[str, torch.Tensor] = False, n_in: int = 3
    ) -> None:
        check_positive_int("n_in", n_in)
        timm = import_timm(f"timm/{name}")
        kwargs = {"num_classes": 0, "in_chans": n_in, "pretrained": pretrained is True}
        model = _create(timm, name, global_pool="", **kwargs)
        shape = _output_shape(model, n_in)
        pooled = len(shape) != 4 or _output_format(model) != "NCHW"
        if pooled:  # tokens, or a channels-last map: timm pools them into (B, C)
            model = _create(timm, name, **kwargs)
            shape = _output_shape(model, n_in)
        if isinstance(pretrained, Mapping):
            load_weights(model, _fitted_state(timm, model, pretrained, n_in))
        super().__init__()
        self.add_module("model", model)
        self.timm_name = name
        self.timm_version = str(timm.__version__)
        # measured: `model.num_features` is the width before timm's head, which some models
        # widen (MobileNetV3's 1x1 head convolution runs on the map when it is not pooled)
        self.num_features = int(shape[1])
        self.pooled = pooled

    # The one child registered by `add_module`, typed for readers of `body.model`.
    model: nn.Module

    def param_groups(self) -> list[list[nn.Parameter]]:
        """[early layers, late layers] by timm's coarse grouping: the stem and the first half
        of the stages, then the rest (the layers after the stages included)."""
        groups = _timm_groups(self.model)
        half = math.ceil(len(groups) / 2)
        return [[p for group in groups[:half] for p in group],
                [p for group in groups[half:] for p in group]]  # fmt: skip


def _output_shape(model: nn.Module, n_in: int) -> torch.Size:
    """The shape of `model`'s output for one zero image: a small one when the model takes any
    size, else the size it was made for."""
    cfg = getattr(model, "pretrained_cfg", None) or {}
    size = tuple(cfg.get("input_size", (n_in, *_PROBE_SIZE)))[1:]
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    x = torch.zeros(1, n_in, *(size if cfg.get("fixed_input_size") else _PROBE_SIZE))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            return model(x.to(device)).shape
    finally:
        model.train(was_training)


def _output_format(model: nn.Module) -> str:
    """The layout of `model`'s feature maps ("NCHW", or "NHWC" for Swin-like models)."""
    layout = getattr(model, "output_fmt", "NCHW")
    return str(getattr(layout, "value", layout))


def _timm_groups(model: nn.Module) -> list[list[nn.Parameter]]:
    """timm's coarse parameter groups of `model`, earliest first; by top-level child when the
    architecture declares no grouping."""
    matcher = getattr(model, "group_matcher", None)
    if matcher is None:
        children = [list(child.parameters()) for child in model.children()]
        return [group for group in children if group]
    from timm.models import group_parameters

    grouped = group_parameters(model, matcher(coarse=True), return_values=True)
    return [grouped[index] for index in sorted(grouped) if grouped[index]]


def _fitted_state(
    timm: Any, model: nn.Module, state: Mapping[str, torch.Tensor], n_in: int
) -> dict[str, torch.Tensor]:
    """`state` (a timm checkpoint, or a saved `TimmBody`) for `model`: the classifier's
    tensors dropped, the first convolution adapted to `n_in` channels."""
    cfg = getattr(model, "pretrained_cfg", None) or {}
    expected = model.state_dict()
    if (
        state
        and all(key.startswith("model.") for key in state)
        and "model." not in {key[:6] for key in expected}
    ):  # a `TimmBody`'s state: its one child is "model"
        state = {key[len("model.") :]: value for key, value in state.items()}
    classifier = cfg.get("classifier") or ()
    prefixes = tuple(f"{name}." for name in _names(classifier))
    fitted = {key: value for key, value in state.items()
              if key in expected or not key.startswith(prefixes)}  # fmt: skip
    for conv in _names(cfg.get("first_conv") or ()):
        key = f"{conv}.weight"
        if key in fitted and key in expected and fitted[key].shape[1] != n_in:
            fitted[key] = timm.models.adapt_input_conv(n_in, fitted[key])
    return fitted


def _names(value: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def timm_pretrained_stats(arch: str) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
    """The (mean, std) per channel that timm's pretrained weights for `arch` expect (the
    default weights when the name has no `.tag`), or None when timm does not say."""
    name = timm_model_name(arch)
    if name is None:
        raise ValueError(f"{arch!r} is not a timm architecture ('timm/<name>')")
    timm = import_timm(arch)
    registry = timm.models
    if "." in name:
        cfg = registry.get_pretrained_cfg(name)
    else:  # timm lists an architecture's default weights first
        cfg = next(iter(registry.get_arch_pretrained_cfgs(name).values()), None)
    mean, std = getattr(cfg, "mean", None), getattr(cfg, "std", None)
    if mean is None or std is None:
        return None
    return tuple(float(v) for v in mean), tuple(float(v) for v in std)


def timm_record(body: nn.Module) -> dict[str, str]:
    """What an export records about a timm body: `{"timm": name, "timm_version": version}`,
    or `{}` for any other body."""
    if isinstance(body, TimmBody):
        return {"timm": body.timm_name, "timm_version": body.timm_version}
    return {}


def check_timm_for_export(spec: Mapping[str, Any]) -> None:
    """Before rebuilding an exported timm model: an `ImportError` naming the timm version the
    export was made with when timm is missing, a warning when another version is installed
    (an architecture may change between versions; the strict weight check then names what)."""
    name = timm_model_name(spec.get("arch"))
    if name is None:
        return
    made_with = spec.get("timm_version")
    pin = f"=={made_with}" if isinstance(made_with, str) else ""
    try:
        import timm
    except ImportError as error:
        raise ImportError(
            f"this export's model is the timm architecture {name!r} (made with timm "
            f"{made_with or 'of an unknown version'}), and timm is not installed: "
            f"pip install timm{pin}"
        ) from error
    if isinstance(made_with, str) and made_with != timm.__version__:
        warnings.warn(
            f"this export's timm model {name!r} was made with timm {made_with}, and timm "
            f"{timm.__version__} is installed; if loading fails, pip install timm{pin}",
            UserWarning,
            stacklevel=3,
        )
