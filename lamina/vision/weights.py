"""Pretrained weights: a registry of downloadable files, and safe loading of local ones.

Each architecture with published weights is registered under kind `"weights"` as a
`WeightsSpec`: where the file is, its SHA-256, the statistics its training images were
normalized with, and the registered name of a conversion from the file's tensor names to
lamina's. The files are safetensors conversions hosted by the lamina project; `LAMINA_WEIGHTS_URL`
replaces the base URL (a mirror, or a local server). A file is downloaded once into
`<lamina cache>/downloads/` (see `lamina.data.download.cache_dir`); to work offline, put the file
there by hand. Weights are read with safetensors, never with pickle; a local `.pth` state dict is
accepted only through `torch.load(weights_only=True)`, which refuses arbitrary objects.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from lamina.core.registry import lookup, register, registered_names
from lamina.data.download import DownloadError, cache_dir, download_data
from lamina.vision.transforms.normalize import imagenet_stats

# A placeholder until the conversions are hosted (.invalid never resolves): set the env var.
DEFAULT_BASE_URL = "https://lamina-weights.invalid/v1"
BASE_URL_ENV = "LAMINA_WEIGHTS_URL"
Stats = tuple[tuple[float, ...], tuple[float, ...]]
StateDict = dict[str, torch.Tensor]


@dataclass(frozen=True)
class WeightsSpec:
    """A downloadable weights file for the registered architecture `arch`.

    Attributes:
        url: the file's URL; only its file name is kept when `LAMINA_WEIGHTS_URL` is set.
        sha256: the file's SHA-256 hex digest, checked before use (None: not verified).
        arch: the registered model name the weights are for.
        stats: (mean, std) per channel the training images were normalized with.
        convert: registered name (kind `"weights_convert"`) of `state_dict -> state_dict`.
    """

    url: str
    sha256: str | None
    arch: str
    stats: Stats = imagenet_stats
    convert: str = "identity"

    def resolved_url(self) -> str:
        """The URL to fetch: `url`, or its file name under `$LAMINA_WEIGHTS_URL` when set."""
        base = os.environ.get(BASE_URL_ENV)
        if not base:
            return self.url
        return f"{base.rstrip('/')}/{self.url.rsplit('/', 1)[-1]}"

    def cache_path(self) -> Path:
        """Where the downloaded file is kept (and where to put it by hand when offline)."""
        return cache_dir() / "downloads" / self.url.rsplit("/", 1)[-1]


@register("weights_convert", "identity")
def identity_convert(state_dict: StateDict) -> StateDict:
    """Tensor names already match lamina's (true of torchvision-layout ResNet files)."""
    return dict(state_dict)


# The ResNets use torchvision's parameter names, so torchvision's ImageNet checkpoints convert to
# safetensors unchanged. sha256 is None until the conversions are published: set it then.
for _name in ("resnet18", "resnet34", "resnet50"):
    register("weights", _name)(WeightsSpec(f"{DEFAULT_BASE_URL}/{_name}.safetensors", None, _name))


def weights_spec(arch: str) -> WeightsSpec:
    """The registered weights for `arch`; a `ValueError` listing the archs that have some."""
    try:
        return lookup("weights", arch)
    except KeyError:
        known = ", ".join(registered_names("weights")) or "none"
        raise ValueError(
            f"no pretrained weights are registered for {arch!r}; archs with weights: {known}. "
            "Pass pretrained=False, or pretrained='<file>.safetensors'"
        ) from None


def load_state_dict_file(path: str | os.PathLike) -> StateDict:
    """Tensors from a `.safetensors` file, or a `.pth`/`.pt` state dict read with
    `torch.load(weights_only=True)` (which refuses pickled code)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no weights file at {path}")
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    if suffix in (".pth", ".pt"):
        state = torch.load(path, map_location="cpu", weights_only=True)
        if isinstance(state, Mapping) and set(state) in ({"state_dict"}, {"model"}):
            state = next(iter(state.values()))
        if not (isinstance(state, Mapping) and all(torch.is_tensor(v) for v in state.values())):
            raise ValueError(f"{path} does not hold a state dict (names to tensors)")
        return dict(state)
    raise ValueError(f"weights file {path} must end in .safetensors, .pth or .pt, got {suffix!r}")


def fetch_weights(arch: str) -> tuple[StateDict, Stats]:
    """Download (once) and load the registered weights of `arch`: `(state_dict, stats)`."""
    spec = weights_spec(arch)
    url = spec.resolved_url()
    try:
        path = download_data(url, sha256=spec.sha256, extract=False)
    except DownloadError as error:
        raise DownloadError(
            f"could not download the pretrained weights for {arch!r} from {url} ({error}). "
            f"Offline, download that file elsewhere and put it at {spec.cache_path()}"
        ) from error
    convert: Callable[[StateDict], StateDict] = lookup("weights_convert", spec.convert)
    return convert(load_state_dict_file(path)), spec.stats


def resolve_pretrained(arch: Any, pretrained: Any) -> tuple[Any, Stats | None]:
    """What `create_body` needs for `pretrained`, and the stats to normalize with (None: not
    known, as for random or local weights).

    `pretrained` is a bool, a weights file path (`.safetensors`, `.pth`, `.pt`) or a state dict.
    `True` downloads the registered weights, except for `"timm/<name>"` archs (timm fetches
    its own and the ImageNet statistics are assumed).
    """
    if pretrained is False or pretrained is None:
        return False, None
    # Local weights carry no record of their training statistics: the data's own are used.
    if isinstance(pretrained, Mapping):
        return dict(pretrained), None
    if isinstance(pretrained, (str, os.PathLike)):
        return load_state_dict_file(pretrained), None
    if pretrained is not True:
        raise ValueError(
            f"pretrained must be True, False, a weights file path or a state dict, got "
            f"{pretrained!r}"
        )
    if not isinstance(arch, str):
        raise ValueError(
            f"pretrained=True needs a registered architecture name, got a "
            f"{type(arch).__name__} module; pass pretrained='<file>' or a state dict"
        )
    if arch.startswith("timm/"):
        return True, imagenet_stats
    return fetch_weights(arch)


def complete_state_dict(arch: str, state_dict: StateDict, cut: Any = None) -> StateDict:
    """`state_dict` for the whole of `arch`: a body's weights alone (as saved from
    `learn.model.body`) get the parts after the cut (the classifier, never used) from a freshly
    built model. Anything else missing is left for the strict load to report."""
    from lamina.models import build_model, create_body

    if arch.startswith("timm/"):
        return state_dict
    model = build_model(arch)
    expected = model.state_dict()
    body_keys = set(create_body(model, cut=cut).state_dict())
    missing = [key for key in expected if key not in state_dict]
    if not missing or any(key in body_keys for key in missing):
        return state_dict
    return {**state_dict, **{key: expected[key] for key in missing}}
