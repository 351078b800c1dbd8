"""The `lamina` command: the acceptance commands as subprocesses, the rest in-process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lamina import load_learner
from lamina.cli.main import main
from tests.serve.helpers import digit_subset

ROOT = Path(__file__).resolve().parents[2]


def _lamina(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "lamina.cli.main", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)  # fmt: skip


@pytest.mark.slow
def test_train_predict_info_from_the_shell(tmp_path: Path) -> None:
    images = digit_subset(tmp_path / "digits", classes="012", per_class=8)
    trained = _lamina("train", "vision", str(images), "--valid-pct", "0.2", "--size", "32",
                      "--epochs", "1", "--no-pretrained", "--bs", "8", "--out", "m.lamina",
                      cwd=tmp_path)  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    assert "exported to m.lamina" in trained.stdout
    assert "train_loss" in trained.stdout
    files = sorted(images.glob("2/*.png"))[:2]
    predicted = _lamina("predict", "m.lamina", *map(str, files), "--json", cwd=tmp_path)
    assert predicted.returncode == 0, predicted.stderr
    records = [json.loads(line) for line in predicted.stdout.splitlines()]
    learn = load_learner(tmp_path / "m.lamina")
    assert len(records) == 2
    for record, file in zip(records, files, strict=True):
        label, index, probs = learn.predict(file)
        assert (record["label"], record["index"]) == (label, int(index))
        assert record["probs"] == pytest.approx(probs.tolist(), abs=1e-5)
    shown = _lamina("info", "m.lamina", cwd=tmp_path)
    assert shown.returncode == 0
    assert "vision" in shown.stdout
    assert "resnet18" in shown.stdout
    assert "[32, 32]" in shown.stdout


def test_errors_are_one_line_and_debug_shows_the_traceback(tmp_path: Path) -> None:
    missing = _lamina("info", "missing.lamina", cwd=tmp_path)
    assert missing.returncode == 1
    assert missing.stderr.strip() == "lamina: error: no such file: missing.lamina"
    debug = _lamina("info", "missing.lamina", "--debug", cwd=tmp_path)
    assert debug.returncode == 1
    assert "Traceback" in debug.stderr


@pytest.mark.parametrize(
    "argv",
    [["train", "vision", "x", "--size", "-3", "--out", "m"], ["train", "vision", "x"],
     ["predict", "m.lamina"], ["frobnicate"], ["train", "tabular", "t.csv", "--out", "m"]],
)  # fmt: skip
def test_bad_arguments_exit_2_with_one_line(argv: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "error:" in err
    assert "--help" in err


def test_every_command_has_help(capsys) -> None:
    for argv in (["--help"], ["train", "--help"], ["train", "vision", "--help"],
                 ["train", "tabular", "--help"], ["train", "collab", "--help"],
                 ["train", "text", "--help"], ["predict", "--help"], ["info", "--help"],
                 ["export", "--help"], ["serve", "--help"]):  # fmt: skip
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 0
        assert "usage: lamina" in capsys.readouterr().out


def test_bad_files_are_one_line_errors(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.lamina"
    bad.write_bytes(b"not a model")
    assert main(["info", str(bad)]) == 1
    assert main(["predict", str(bad), "x.png"]) == 1
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 2
    assert all(line.startswith("lamina: error: ") for line in errors)


def test_tabular_train_with_auto_lr_plots_and_predict(tmp_path: Path, capsys) -> None:
    from lamina.tabular import load_penguins

    load_penguins().to_csv(tmp_path / "penguins.csv", index=False)
    argv = ["train", "tabular", str(tmp_path / "penguins.csv"), "--y", "species", "--epochs",
            "1", "--lr", "auto", "--plots", str(tmp_path / "plots"), "--out",
            str(tmp_path / "p.lamina")]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "lr_find picked lr=" in out
    assert {p.name for p in (tmp_path / "plots").iterdir()} == {
        "lr_find.png", "loss.png", "confusion_matrix.png"}  # fmt: skip
    load_penguins().head(3).to_csv(tmp_path / "rows.csv", index=False)
    assert main(["predict", str(tmp_path / "p.lamina"), str(tmp_path / "rows.csv"), "--json"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    learn = load_learner(tmp_path / "p.lamina")
    expected = [learn.predict(row)[0] for row in load_penguins().head(3).to_dict("records")]
    assert [record["label"] for record in records] == expected
    assert [record["input"] for record in records][0].endswith("rows.csv:1")


def test_collab_train_and_predict_table(tmp_path: Path, capsys) -> None:
    rng = np.random.default_rng(0)
    ratings = pd.DataFrame({"who": rng.integers(0, 10, 300), "what": rng.integers(0, 8, 300),
                            "stars": rng.uniform(1, 5, 300)})  # fmt: skip
    ratings.to_csv(tmp_path / "r.csv", index=False)
    assert main(["train", "collab", str(tmp_path / "r.csv"), "--user", "who", "--item", "what",
                 "--rating", "stars", "--factors", "4", "--epochs", "1",
                 "--out", str(tmp_path / "c.lamina")]) == 0  # fmt: skip
    capsys.readouterr()
    ratings.head(2).to_csv(tmp_path / "pairs.csv", index=False)
    assert main(["predict", str(tmp_path / "c.lamina"), str(tmp_path / "pairs.csv")]) == 0
    lines = capsys.readouterr().out.splitlines()
    expected = load_learner(tmp_path / "c.lamina").predict(list(ratings.who[:2]),
                                                           list(ratings.what[:2]))  # fmt: skip
    assert lines[0] == "input\tprediction"
    assert [float(line.split("\t")[1]) for line in lines[1:]] == pytest.approx(
        expected.tolist(), abs=1e-3)  # fmt: skip


def test_info_builds_nothing(tmp_path: Path, monkeypatch, capsys) -> None:
    from lamina.collab import CollabDataLoaders, collab_learner

    ratings = pd.DataFrame({"user": [1, 2, 3, 1] * 10, "item": [5, 6, 7, 7] * 10,
                            "rating": [1.0, 2.0, 3.0, 4.0] * 10})  # fmt: skip
    dls = CollabDataLoaders.from_df(ratings, valid_pct=0.2, seed=0)
    path = collab_learner(dls, n_factors=3).export(tmp_path / "c.lamina")

    def refuse(*args, **kwargs):
        raise AssertionError("info must not look anything up or build a model")

    monkeypatch.setattr("lamina.core.registry.lookup", refuse)
    monkeypatch.setattr("lamina.inference.load_learner", refuse)
    assert main(["info", str(path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["application"] == "collab"
    assert info["inputs"] == {"users": 3, "items": 3}
    assert info["parameters"] == (3 + 3) * 3 + 3 + 3
    assert info["tensors"] == 4
    assert info["tensor_bytes"] == info["parameters"] * 4
    assert info["lamina_version"]
