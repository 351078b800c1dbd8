"""vision_learner on timm architectures: training, freezing, discriminative rates, export.

Marked `timm` (see tests/models/test_timm_body.py): `make test-timm` runs them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from lamina import accuracy, load_learner
from lamina.core.files import load_tensors_json, save_tensors_json
from lamina.core.seed import set_seed
from lamina.vision import ImageDataLoaders, Resize, unet_learner, vision_learner
from tests.vision.digit_folders import write_digit_folders

pytestmark = pytest.mark.timm


@pytest.fixture(scope="module")
def digits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """30 of scikit-learn's digits per class (8x8 grey PNGs, real handwriting) in class folders."""
    return write_digit_folders(tmp_path_factory.mktemp("digits"), per_class=30)


def dls_of(path: Path) -> object:
    return ImageDataLoaders.from_folder(path, valid_pct=0.25, seed=0, item_tfms=Resize(32), bs=32,
                                        img_mode="L", device="cpu")  # fmt: skip


@pytest.fixture(scope="module")
def trained(digits: Path) -> object:
    set_seed(0)
    learn = vision_learner(dls_of(digits), "timm/test_resnet", pretrained=False, metrics=accuracy)
    learn.progress.silent = True
    learn.fit_one_cycle(6)
    return learn


def test_learns_digits_from_scratch(trained) -> None:
    losses = trained.recorder.values  # per epoch: train loss, valid loss, accuracy
    assert losses[-1][1] < 0.6 * losses[0][1]
    assert losses[-1][2] >= 0.8  # 75 validation digits; chance is 0.1


def test_freeze_trains_the_head_and_norms_and_groups_get_their_rates(digits: Path) -> None:
    learn = vision_learner(dls_of(digits), "timm/test_convnext", pretrained=False)
    learn.progress.silent = True
    learn.freeze()
    body, head = learn.model.body.model, learn.model.head
    assert all(p.requires_grad for p in head.parameters())
    assert not body.stages[3].blocks[0].conv_dw.weight.requires_grad
    assert body.stages[3].blocks[0].norm.weight.requires_grad  # norms adapt to the new data
    learn.unfreeze()
    assert all(p.requires_grad for p in learn.model.parameters())
    learn.fit(1, lr=slice(1e-4, 1e-2))
    assert [group["lr"] for group in learn.opt.param_groups] == pytest.approx([1e-4, 1e-3, 1e-2])


def test_export_records_timm_and_loads_back_with_the_same_predictions(
    trained, digits: Path, tmp_path: Path
) -> None:
    import timm

    path = trained.export(tmp_path / "digits.lamina")
    _, info = load_tensors_json(path)
    spec = info["spec"]
    assert (spec["arch"], spec["timm"], spec["timm_version"]) == (
        "timm/test_resnet", "test_resnet", timm.__version__
    )  # fmt: skip
    files = sorted(digits.rglob("*.png"))[::15]
    labels, _, probs = trained.predict_batch(files)
    loaded = load_learner(path, cpu=True)
    again = loaded.predict_batch(files)
    assert again[0] == labels
    torch.testing.assert_close(again[2], probs)
    # in a fresh process, which imports timm only when the export asks for it
    code = (
        "import json, sys\n"
        "from lamina import load_learner\n"
        "assert 'timm' not in sys.modules\n"
        "learn = load_learner(sys.argv[1], cpu=True)\n"
        "labels, _, probs = learn.predict_batch(sys.argv[2:])\n"
        "print(json.dumps({'labels': labels, 'probs': probs.tolist()}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code, str(path), *map(str, files)],
                            capture_output=True, text=True, check=True, timeout=300)  # fmt: skip
    fresh = json.loads(result.stdout.strip().splitlines()[-1])
    assert fresh["labels"] == labels
    torch.testing.assert_close(torch.tensor(fresh["probs"]), probs, atol=1e-6, rtol=1e-5)


def test_another_timm_version_warns_and_still_loads(trained, tmp_path: Path) -> None:
    path = trained.export(tmp_path / "digits.lamina")
    tensors, info = load_tensors_json(path)
    info["spec"]["timm_version"] = "0.9.0"
    save_tensors_json(path, tensors, info)
    with pytest.warns(UserWarning, match=r"made with timm 0\.9\.0.*pip install timm==0\.9\.0"):
        loaded = load_learner(path, cpu=True)
    torch.testing.assert_close(loaded.model.state_dict()["head.8.weight"],
                               trained.model.state_dict()["head.8.weight"])  # fmt: skip


def test_unet_learner_refuses_timm_clearly(digits: Path) -> None:
    with pytest.raises(ValueError, match="unet_learner does not take timm"):
        unet_learner(dls_of(digits), "timm/test_resnet", pretrained=False)
