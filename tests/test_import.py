"""Importing lamina is quick and changes no global state."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, os, sys, time
import torch
def torch_state():
    return (torch.get_default_dtype(), torch.get_num_threads(), torch.is_grad_enabled(),
            torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.benchmark)
env = dict(os.environ)
state = torch_state()
start = time.perf_counter()
import lamina
elapsed = time.perf_counter() - start
after = torch_state()
heavy = sorted(m for m in ("pandas", "matplotlib", "PIL", "sklearn", "scipy", "tensorboard")
               if m in sys.modules)
print(json.dumps({"elapsed": elapsed, "env_same": env == dict(os.environ),
                  "torch_same": str(state) == str(after), "heavy": heavy}))
"""


def test_import_is_light_and_has_no_side_effects() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)
    assert result["env_same"]
    assert result["torch_same"]
    assert result["heavy"] == []
    assert (
        result["elapsed"] < 1.0
    )  # the benchmark holds the real goal (0.3 s); this catches regressions
