"""Files exported by lamina 0.1 before the data layer was reshaped still load and predict the same.

The fixtures were written by the commit before the change (99d285e): a simple CNN on the built-in
digits, a small tabular model and a small collab model, with the predictions they made then.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import lamina.datasets
from lamina import load_learner

FIXTURES = Path(__file__).parent / "fixtures" / "exports_0_1"


def test_a_vision_export_from_before_loads_and_predicts_the_same() -> None:
    learn = load_learner(FIXTURES / "vision_simple_cnn.lamina", device="cpu")
    root = lamina.datasets.digits()
    files = [root / "0" / name for name in ("0000.png", "0010.png", "0020.png")]
    preds, _ = learn.get_preds(dl=learn.dls.test_dl(files))
    np.testing.assert_allclose(preds.numpy(), np.load(FIXTURES / "vision_preds.npy"), atol=1e-5)


def test_a_tabular_export_from_before_loads_and_predicts_the_same() -> None:
    learn = load_learner(FIXTURES / "tabular.lamina", device="cpu")
    rows = pd.read_csv(FIXTURES / "tabular_rows.csv")
    preds, _ = learn.get_preds(dl=learn.dls.test_dl(rows))
    np.testing.assert_allclose(preds.numpy(), np.load(FIXTURES / "tabular_preds.npy"), atol=1e-5)


def test_a_collab_export_from_before_loads_and_predicts_the_same() -> None:
    learn = load_learner(FIXTURES / "collab.lamina", device="cpu")
    pairs = pd.read_csv(FIXTURES / "collab_pairs.csv")
    preds = learn.predict(pairs["user"].tolist(), pairs["item"].tolist())
    np.testing.assert_allclose(preds.numpy(), np.load(FIXTURES / "collab_preds.npy"), atol=1e-5)


def test_an_export_of_an_unknown_application_says_to_re_export(tmp_path: Path) -> None:
    from lamina.core.files import load_tensors_json, save_tensors_json

    tensors, info = load_tensors_json(FIXTURES / "tabular.lamina")
    info["app"] = info["spec"]["app"] = "retired_app"
    save_tensors_json(tmp_path / "old.lamina", tensors, info)
    with pytest.raises(ValueError, match="re-export it with lamina 0.2"):
        load_learner(tmp_path / "old.lamina")
