"""Exporting a vision learner and loading it back: equal predictions, no pickle, clear errors."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import lamina
from lamina import load_learner
from lamina.core.files import load_tensors_json, save_tensors_json
from lamina.core.seed import set_seed
from lamina.vision import ImageDataLoaders, InferenceLoaders, Resize, vision_learner


def stripes(root: Path, n: int = 16, size: int = 20) -> Path:
    """Two classes of noisy images: horizontal or vertical stripes."""
    rng = np.random.default_rng(0)
    for label in ("horizontal", "vertical"):
        (root / label).mkdir(parents=True)
        for i in range(n):
            pixels = rng.integers(0, 60, (size, size, 3), dtype=np.uint8)
            if label == "horizontal":
                pixels[::4] = 230
            else:
                pixels[:, ::4] = 230
            Image.fromarray(pixels).save(root / label / f"{i}.png")
    return root


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    """A learner trained briefly on stripes, its export file and its test images."""
    root = stripes(tmp_path_factory.mktemp("stripes"))
    dls = ImageDataLoaders.from_folder(
        root, valid_pct=0.25, seed=0, item_tfms=Resize(16), bs=8, device="cpu"
    )
    set_seed(0)
    learn = vision_learner(dls, "simple_cnn", pretrained=False)
    learn.progress.silent = True
    learn.fit_one_cycle(2)
    path = learn.export(tmp_path_factory.mktemp("export") / "model.lamina")
    files = sorted(root.rglob("*.png"))[::5]
    return learn, path, files


def test_export_spec_is_json_and_names_everything(exported) -> None:
    learn, path, _ = exported
    _, info = load_tensors_json(path)
    spec = info["spec"]
    assert spec.pop("lamina_version") == lamina.__version__  # recorded by the writer
    assert spec == json.loads(json.dumps(learn.export_spec))
    assert spec["app"] == "vision"
    assert spec["arch"] == "simple_cnn"
    assert spec["n_out"] == 2
    assert spec["n_in"] == 3
    assert spec["loss"] == {"name": "cross_entropy_flat", "args": learn.loss_func.config()}
    assert [t["name"] for t in spec["data"]["batch_tfms"]] == ["IntToFloat", "Normalize"]


def test_loaded_learner_predicts_the_same(exported) -> None:
    learn, path, files = exported
    loaded = load_learner(path)
    assert isinstance(loaded.dls, InferenceLoaders)
    assert loaded.dls.vocab == ["horizontal", "vertical"]
    before = learn.predict_batch(files)
    after = loaded.predict_batch(files)
    assert before[0] == after[0]
    torch.testing.assert_close(after[2], before[2])
    # get_preds over new items works without any training data.
    preds, *_ = loaded.get_preds(dl=loaded.dls.test_dl(files, bs=3))
    torch.testing.assert_close(preds, before[2])


@pytest.mark.slow  # a new Python process imports torch: several seconds
def test_loaded_in_a_fresh_process_predicts_the_same(exported) -> None:
    learn, path, files = exported
    code = (
        "import json, sys\n"
        "from lamina import load_learner\n"
        "learn = load_learner(sys.argv[1])\n"
        "labels, _, probs = learn.predict_batch(sys.argv[2:])\n"
        "print(json.dumps({'labels': labels, 'probs': probs.tolist()}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(path), *map(str, files)],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    fresh = json.loads(result.stdout.strip().splitlines()[-1])
    labels, _, probs = learn.predict_batch(files)
    assert fresh["labels"] == labels
    torch.testing.assert_close(torch.tensor(fresh["probs"]), probs, atol=1e-6, rtol=1e-5)


def test_loading_never_unpickles(exported, monkeypatch: pytest.MonkeyPatch) -> None:
    learn, path, files = exported

    def refuse(*args, **kwargs):
        raise AssertionError("load_learner must not unpickle anything")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    monkeypatch.setattr(torch, "load", refuse)
    loaded = load_learner(path)
    assert loaded.predict(files[0])[0] == learn.predict(files[0])[0]


def test_a_loaded_learner_exports_again(exported, tmp_path: Path) -> None:
    _, path, files = exported
    loaded = load_learner(path)
    again = load_learner(loaded.export(tmp_path / "again.lamina"))
    torch.testing.assert_close(again.predict(files[0])[2], loaded.predict(files[0])[2])


# ----------------------------------------------------------------------------- bad files
def rewrite(path: Path, dest: Path, change) -> Path:
    """A copy of an export with its tensors and info changed by `change(tensors, info)`."""
    tensors, info = load_tensors_json(path)
    change(tensors, info)
    return save_tensors_json(dest, tensors, info)


def test_corrupted_json_is_reported(exported, tmp_path: Path) -> None:
    from safetensors.torch import save_file

    _, path, _ = exported
    tensors, _ = load_tensors_json(path)
    bad = tmp_path / "bad.lamina"
    save_file(tensors, str(bad), metadata={"lamina": '{"format": "lamina-export", '})
    with pytest.raises(ValueError, match="not valid JSON"):
        load_learner(bad)
    (tmp_path / "junk.lamina").write_bytes(b"\x00not a safetensors file")
    with pytest.raises(ValueError, match="not a valid lamina/safetensors file"):
        load_learner(tmp_path / "junk.lamina")


def test_newer_format_version_is_refused(exported, tmp_path: Path) -> None:
    _, path, _ = exported
    newer = rewrite(path, tmp_path / "newer.lamina",
                    lambda t, info: info.update(format_version=99))  # fmt: skip
    with pytest.raises(ValueError, match="version 99, newer than this lamina reads"):
        load_learner(newer)


def test_unknown_arch_lists_the_known_ones(exported, tmp_path: Path) -> None:
    _, path, _ = exported
    bad = rewrite(path, tmp_path / "arch.lamina",
                  lambda t, info: info["spec"].update(arch="resnet9000"))  # fmt: skip
    with pytest.raises(ValueError, match=r"'resnet9000' is not registered.*resnet18.*simple_cnn"):
        load_learner(bad)


def test_missing_tensor_is_named(exported, tmp_path: Path) -> None:
    _, path, _ = exported
    bad = rewrite(path, tmp_path / "missing.lamina",
                  lambda t, info: t.pop("model.head.8.weight"))  # fmt: skip
    with pytest.raises(ValueError, match=r"missing keys: head\.8\.weight"):
        load_learner(bad)


def test_wrong_shape_is_named(exported, tmp_path: Path) -> None:
    _, path, _ = exported

    def shrink(tensors: dict, info: dict) -> None:
        tensors["model.head.8.bias"] = torch.zeros(5)

    bad = rewrite(path, tmp_path / "shape.lamina", shrink)
    with pytest.raises(ValueError, match=r"head\.8\.bias: checkpoint \(5,\), model \(2,\)"):
        load_learner(bad)


def test_unknown_transform_is_named(exported, tmp_path: Path) -> None:
    _, path, _ = exported

    def rename(tensors: dict, info: dict) -> None:
        info["spec"]["data"]["batch_tfms"][0]["name"] = "EvilTransform"

    bad = rewrite(path, tmp_path / "tfm.lamina", rename)
    with pytest.raises(ValueError, match="unknown transform 'EvilTransform'"):
        load_learner(bad)


def test_unknown_app_is_named(exported, tmp_path: Path) -> None:
    _, path, _ = exported

    def rename(tensors: dict, info: dict) -> None:
        info["app"] = "audio"
        info["spec"]["app"] = "audio"

    with pytest.raises(ValueError, match="unknown app 'audio'"):
        load_learner(rewrite(path, tmp_path / "app.lamina", rename))
