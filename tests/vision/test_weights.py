"""Pretrained weights: served over HTTP by the test, checked by SHA-256, cached, loaded safely."""

from __future__ import annotations

import functools
import http.server
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


def test_registered_resnets_point_at_safetensors(monkeypatch) -> None:
    for arch in ("resnet18", "resnet34", "resnet50"):
        spec = weights_spec(arch)
        assert spec.arch == arch
        assert spec.url.endswith(f"/{arch}.safetensors")
    monkeypatch.setenv(BASE_URL_ENV, "https://mirror.example/w/")
    assert (
        weights_spec("resnet18").resolved_url() == "https://mirror.example/w/resnet18.safetensors"
    )


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
