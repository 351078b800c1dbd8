"""TensorBoardCallback: scalars read back from the event files with TensorBoard's own reader."""

from __future__ import annotations

import builtins
from pathlib import Path

import pytest

from lamina.testing import tiny_learner
from lamina.train.callbacks import TensorBoardCallback


def _scalars(log_dir: Path) -> dict[str, list[tuple[int, float]]]:
    accumulator = pytest.importorskip(
        "tensorboard.backend.event_processing.event_accumulator"
    ).EventAccumulator(str(log_dir))
    accumulator.Reload()
    return {
        tag: [(event.step, event.value) for event in accumulator.Scalars(tag)]
        for tag in accumulator.Tags()["scalars"]
    }


def test_writes_loss_lrs_and_epoch_metrics(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    learn = tiny_learner(classification=True, path=tmp_path)
    learn.fit(2, lr=[1e-3, 1e-2], cbs=[TensorBoardCallback(every_n_batches=5)])
    scalars = _scalars(tmp_path / "runs")
    n_batches = 2 * len(learn.dls.train)  # 16 batches per epoch
    steps = list(range(0, n_batches, 5))
    assert [step for step, _ in scalars["train/loss"]] == steps
    assert [value for _, value in scalars["train/loss"]] == pytest.approx(
        [learn.recorder.losses[step] for step in steps], rel=1e-6
    )
    assert [value for _, value in scalars["train/lr_0"]] == pytest.approx([1e-3] * len(steps))
    assert [value for _, value in scalars["train/lr_1"]] == pytest.approx([1e-2] * len(steps))
    for column in ("train_loss", "valid_loss"):
        assert [step for step, _ in scalars[f"epoch/{column}"]] == [0, 1]
        assert [value for _, value in scalars[f"epoch/{column}"]] == pytest.approx(
            [row[column] for row in learn.recorder.history], rel=1e-6
        )


def test_missing_tensorboard_names_the_install_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_import = builtins.__import__

    def no_tensorboard(name: str, *args, **kwargs):
        if name.startswith("torch.utils.tensorboard") or name.startswith("tensorboard"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tensorboard)
    learn = tiny_learner(path=tmp_path)
    with pytest.raises(ImportError, match="pip install tensorboard"):
        learn.fit(1, cbs=[TensorBoardCallback()])


@pytest.mark.parametrize("every_n_batches", [0, 2.5, True])
def test_rejects_bad_every_n_batches(every_n_batches: object) -> None:
    with pytest.raises(ValueError, match="every_n_batches must be a positive integer, got"):
        TensorBoardCallback(every_n_batches=every_n_batches)
