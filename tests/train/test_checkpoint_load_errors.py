"""A checkpoint that does not fit is refused whole: the learner is left exactly as it was."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from lamina import set_seed
from lamina.core.files import load_tensors_json, save_tensors_json
from lamina.core.seed import get_rng_state
from lamina.testing import tiny_learner


def _learner(path: Path, seed: int, epochs: int):
    set_seed(seed)
    learn = tiny_learner(classification=True, path=path)
    learn.fit(epochs, lr=1e-2)
    return learn


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> Path:
    """A good checkpoint (1 epoch, seed 0) of the 3-class tiny learner."""
    folder = tmp_path_factory.mktemp("ckpt")
    return _learner(folder, seed=0, epochs=1).save("good")


def _state(learn) -> dict:
    """Everything a load may change, copied."""
    opt = learn.opt.state_dict()
    values, rng_tensors = get_rng_state()
    return {
        "model": {k: v.clone() for k, v in learn.model.state_dict().items()},
        "opt_groups": [dict(group) for group in opt["param_groups"]],
        "opt_state": {
            i: {k: torch.as_tensor(v).clone() for k, v in s.items()}
            for i, s in opt["state"].items()
        },  # fmt: skip
        "rng": (values, {k: v.clone() for k, v in rng_tensors.items()}),
        "loader_rng": learn.dls.train.generator.get_state(),
        "epochs_done": learn.epochs_done,
        "recorder": [list(row) for row in learn.recorder.values],
    }


def _assert_same(before: dict, after: dict) -> None:
    assert before.keys() == after.keys()
    for key in ("model", "rng"):
        tensors_before = before[key] if key == "model" else before[key][1]
        tensors_after = after[key] if key == "model" else after[key][1]
        for name, value in tensors_before.items():
            assert torch.equal(value, tensors_after[name]), f"{key} {name} changed"
    assert before["rng"][0] == after["rng"][0]
    assert before["opt_groups"] == after["opt_groups"]
    for index, state in before["opt_state"].items():
        for name, value in state.items():
            assert torch.equal(value, after["opt_state"][index][name]), f"opt {index} {name}"
    assert torch.equal(before["loader_rng"], after["loader_rng"])
    assert before["epochs_done"] == after["epochs_done"]
    assert before["recorder"] == after["recorder"]


def _four_classes(tensors: dict, info: dict) -> None:
    tensors["model.head.weight"] = torch.randn(4, 16)  # the head is loaded after the body
    tensors["model.head.bias"] = torch.randn(4)


def _lr_text(tensors: dict, info: dict) -> None:
    info["opt"]["param_groups"][1]["lr"] = "x"


def _exp_avg_shape(tensors: dict, info: dict) -> None:
    tensors["opt.state.5.exp_avg"] = torch.zeros(7)


def _too_few_groups(tensors: dict, info: dict) -> None:
    info["opt"]["param_groups"].pop()


def _short_torch_rng(tensors: dict, info: dict) -> None:
    tensors["rng.torch"] = tensors["rng.torch"][:100]


def _numpy_rng_kind(tensors: dict, info: dict) -> None:
    info["rng"]["numpy"]["kind"] = "PCG64"


def _no_rng(tensors: dict, info: dict) -> None:
    del info["rng"]


def _bad_loader_rng(tensors: dict, info: dict) -> None:
    tensors["rng.train_loader"] = torch.zeros(3, dtype=torch.uint8)


def _recorder_refuses(tensors: dict, info: dict) -> None:
    info["callbacks"]["recorder"]["history"] = 5  # a dict, but Recorder cannot load it


def _callbacks_list(tensors: dict, info: dict) -> None:
    info["callbacks"] = ["recorder"]


def _negative_epochs(tensors: dict, info: dict) -> None:
    info["epochs_done"] = -5


def _bool_epochs(tensors: dict, info: dict) -> None:
    info["epochs_done"] = True


BAD: dict[str, tuple[Callable[[dict, dict], None], str]] = {
    "four_classes": (_four_classes, r"does not fit this model: field 'model.head.(weight|bias)'"),
    "lr_text": (_lr_text, r"field 'opt.param_groups.1.lr' is 'x'"),
    "exp_avg_shape": (_exp_avg_shape, r"field 'opt.state.5.exp_avg' has shape \(7,\)"),
    "too_few_groups": (_too_few_groups, r"field 'opt.param_groups' holds 1 groups"),
    "short_torch_rng": (_short_torch_rng, r"field 'rng.torch' is not a valid generator state"),
    "numpy_rng_kind": (_numpy_rng_kind, r"field 'rng.numpy' is not a valid generator state"),
    "no_rng": (_no_rng, r"field 'rng' is missing"),
    "bad_loader_rng": (_bad_loader_rng, r"field 'rng.train_loader' is not a valid"),
    "recorder_refuses": (_recorder_refuses, r"field 'callbacks.recorder' was refused by Recorder"),
    "callbacks_list": (_callbacks_list, r"field 'callbacks' must be an object"),
    "negative_epochs": (_negative_epochs, r"field 'epochs_done' must be an integer >= 0, got -5"),
    "bool_epochs": (_bool_epochs, r"field 'epochs_done' must be an integer >= 0, got True"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_failed_load_changes_nothing_and_names_the_file_and_field(saved, tmp_path, case):
    change, message = BAD[case]
    tensors, info = load_tensors_json(saved)
    change(tensors, info)
    bad = save_tensors_json(tmp_path / f"{case}.safetensors", tensors, info)

    learn = _learner(tmp_path, seed=7, epochs=2)
    before = _state(learn)
    with pytest.raises(ValueError, match=message) as error:
        learn.load(bad)
    assert str(bad) in str(error.value)
    _assert_same(before, _state(learn))

    learn.load(saved)  # the learner still works: a good file loads
    assert learn.epochs_done == 1
    assert torch.equal(learn.model.state_dict()["head.bias"], load_tensors_json(saved)[0]
                       ["model.head.bias"])  # fmt: skip


def test_without_opt_a_bad_optimizer_section_is_not_read(saved, tmp_path):
    tensors, info = load_tensors_json(saved)
    _lr_text(tensors, info)
    bad = save_tensors_json(tmp_path / "bad_opt.safetensors", tensors, info)
    learn = _learner(tmp_path, seed=7, epochs=1)
    learn.load(bad, with_opt=False)
    assert learn.epochs_done == 1


def test_non_strict_loads_matching_names_but_refuses_other_shapes(saved, tmp_path):
    tensors, info = load_tensors_json(saved)
    extra = dict(tensors, **{"model.extra": torch.ones(2)})
    del extra["model.head.bias"]
    partial = save_tensors_json(tmp_path / "partial.safetensors", extra, info)
    learn = _learner(tmp_path, seed=7, epochs=1)
    with pytest.raises(ValueError, match=r"missing \['head.bias'\], unexpected \['extra'\]"):
        learn.load(partial)
    learn.load(partial, strict=False)
    assert torch.equal(learn.model.state_dict()["head.weight"], tensors["model.head.weight"])

    _four_classes(tensors, info)
    wrong = save_tensors_json(tmp_path / "wrong.safetensors", tensors, info)
    with pytest.raises(ValueError, match="does not fit this model"):
        learn.load(wrong, strict=False)
