"""The core layer: registry, nested state split into JSON and tensors, safe files, RNG capture."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from lamina.core.files import load_tensors_json, save_tensors_json
from lamina.core.registry import lookup, register, registered_name
from lamina.core.seed import get_rng_state, set_rng_state
from lamina.core.state import join_state, split_state


def test_registry_round_trip_and_clear_unknown_name() -> None:
    @register("test-kind", "thing")
    class Thing:
        pass

    assert lookup("test-kind", "thing") is Thing
    assert registered_name("test-kind", Thing()) == "thing"
    with pytest.raises(KeyError, match="unknown test-kind 'other'; registered test-kind names: "):
        lookup("test-kind", "other")
    with pytest.raises(ValueError, match="already registered"):
        register("test-kind", "thing")(int)


def test_nested_state_survives_json_and_tensors() -> None:
    state = {"state": {0: {"step": torch.tensor(3.0), "exp_avg": torch.ones(2)}},
             "param_groups": [{"betas": (0.9, 0.99), "lr": 1e-3, "params": [0]}]}  # fmt: skip
    tensors: dict[str, torch.Tensor] = {}
    as_json = json.loads(json.dumps(split_state(state, "opt", tensors)))
    back = join_state(as_json, tensors)
    assert back["param_groups"][0]["betas"] == (0.9, 0.99)
    assert list(back["state"]) == [0]
    assert torch.equal(back["state"][0]["exp_avg"], torch.ones(2))
    with pytest.raises(TypeError, match="without pickle"):
        split_state({"f": object()}, "x", {})


def test_safe_file_round_trip_with_shared_tensors(tmp_path: Path) -> None:
    weight = torch.randn(3, 3)
    path = save_tensors_json(tmp_path / "f.safetensors", {"a": weight, "tied": weight}, {"k": 1})
    tensors, info = load_tensors_json(path)
    assert info == {"k": 1}
    assert torch.equal(tensors["a"], weight)
    assert torch.equal(tensors["tied"], weight)


def test_rng_state_capture_restores_every_generator() -> None:
    values, tensors = get_rng_state()
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    set_rng_state(json.loads(json.dumps(values)), tensors)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == first
