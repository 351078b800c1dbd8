"""A corpus of hostile export and checkpoint files, generated here: each must be refused with an
error naming the file and the field or tensor, quickly, running nothing from the file
(issue 13, items 5, 13 and 14). The tallies are printed with `-s`."""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import lamina.applications  # noqa: F401  (imported before the timed loads)
from lamina import load_learner
from lamina.collab import CollabDataLoaders, collab_learner
from lamina.core.files import load_tensors_json, save_tensors_json
from lamina.testing import tiny_learner

TALLY = {"bad inputs": 0, "named errors": 0, "silent": 0}


@pytest.fixture(scope="module")
def collab_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(0)
    ratings = pd.DataFrame(
        {"user": rng.integers(0, 20, 300), "item": rng.integers(0, 15, 300),
         "rating": rng.integers(1, 6, 300).astype(float)}
    )  # fmt: skip
    dls = CollabDataLoaders.from_df(ratings, bs=32, seed=0, device="cpu")
    learn = collab_learner(dls, n_factors=4)
    path = learn.export(tmp_path_factory.mktemp("export") / "collab.lamina")
    load_learner(path, device="cpu")  # the good file loads (and warms up what loading imports)
    return path


def _variant(path: Path, dest: Path, change) -> Path:
    tensors, info = load_tensors_json(path)
    change(tensors, info)
    return save_tensors_json(dest, tensors, info)


def _set(info: dict, dotted: str, value) -> None:
    *parents, last = dotted.split(".")
    node = info
    for key in parents:
        node = node[key]
    node[last] = value


def _tensor(name: str, make):
    def change(tensors: dict, info: dict) -> None:
        tensors[name] = make(tensors[name])

    return change


EXPORT_CASES = {
    # resource exhaustion: declared sizes far beyond the tensors in the file
    "huge_n_users": (lambda t, i: _set(i, "spec.arch.n_users", 2**26), "user"),
    "huge_n_factors": (lambda t, i: _set(i, "spec.arch.n_factors", 2**24), "weight"),
    # silent acceptance
    "nan_weight": (_tensor("model.user_weight.weight", lambda v: v.fill_(float("nan"))),
                   "user_weight.weight"),
    "inf_weight": (_tensor("model.item_bias.weight", lambda v: v.fill_(float("inf"))),
                   "item_bias.weight"),
    "bool_weight": (_tensor("model.user_weight.weight", lambda v: v > 0), "user_weight.weight"),
    "int8_weight": (_tensor("model.item_weight.weight", lambda v: v.to(torch.int8)),
                    "item_weight.weight"),
    "duplicate_user": (lambda t, i: i["spec"]["vocab"]["users"].__setitem__(
        1, i["spec"]["vocab"]["users"][2]), "vocab.users"),
    "user_not_scalar": (lambda t, i: i["spec"]["vocab"]["users"].__setitem__(0, {"a": 1}),
                        "vocab.users"),
    "missing_tensor": (lambda t, i: t.pop("model.item_bias.weight"), "item_bias.weight"),
    "extra_tensor": (lambda t, i: t.__setitem__("model.extra", torch.zeros(2)), "extra"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(EXPORT_CASES))
def test_hostile_export_is_refused_naming_file_and_field(collab_export, tmp_path, case) -> None:
    change, field = EXPORT_CASES[case]
    bad = _variant(collab_export, tmp_path / f"{case}.lamina", change)
    TALLY["bad inputs"] += 1
    start = time.perf_counter()
    TALLY["silent"] += 1  # until refused
    with pytest.raises(ValueError, match=re.escape(field)) as info:
        load_learner(bad, device="cpu")
    TALLY["silent"] -= 1
    assert str(bad) in str(info.value)
    assert field in str(info.value)
    TALLY["named errors"] += 1
    assert time.perf_counter() - start < 10  # no huge allocation first


def test_float64_weights_load_with_a_warning_naming_the_tensor(collab_export, tmp_path) -> None:
    bad = _variant(collab_export, tmp_path / "f64.lamina",
                   _tensor("model.user_bias.weight", lambda v: v.double()))  # fmt: skip
    TALLY["bad inputs"] += 1
    with pytest.warns(UserWarning, match=r"user_bias\.weight \(torch\.float64"):
        load_learner(bad, device="cpu")
    TALLY["named errors"] += 1


CHECKPOINT_CASES = {
    "batches_done_negative": ("batches_done", -1),
    "batches_done_text": ("batches_done", "x"),
    "epochs_done_float": ("epochs_done", 1.5),
}


@pytest.mark.parametrize("case", sorted(CHECKPOINT_CASES))
def test_hostile_checkpoint_field_is_named(tmp_path, case) -> None:
    field, value = CHECKPOINT_CASES[case]
    learn = tiny_learner(path=tmp_path)
    good = learn.save("good")
    bad = _variant(good, tmp_path / f"{case}.safetensors", lambda t, i: i.__setitem__(field, value))
    TALLY["bad inputs"] += 1
    with pytest.raises(ValueError, match=field) as info:
        learn.load(bad)
    assert str(bad) in str(info.value)
    TALLY["named errors"] += 1


def test_checkpoint_with_nan_weights_loads_with_a_warning(tmp_path) -> None:
    learn = tiny_learner(path=tmp_path)
    good = learn.save("good")
    name = next(key for key in load_tensors_json(good)[0] if key.startswith("model."))
    bad = _variant(good, tmp_path / "nan.safetensors",
                   _tensor(name, lambda v: v.fill_(float("nan"))))  # fmt: skip
    TALLY["bad inputs"] += 1
    with pytest.warns(UserWarning, match=name):
        learn.load(bad)
    TALLY["named errors"] += 1


def test_zz_report_tallies() -> None:
    print(f"\nhostile files: {TALLY}")
    assert TALLY["silent"] == 0
