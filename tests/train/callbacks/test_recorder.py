"""The recorder's epoch history: named rows, fastai-shaped `values`, old checkpoints."""

from __future__ import annotations

import pytest

from lamina.train.metrics import accuracy
from tests.train.callbacks.scripted import small_learner


def test_history_names_every_column_and_values_has_fastai_shape() -> None:
    learn = small_learner(classification=True, metrics=accuracy)
    learn.fit(2, lr=0.01)
    recorder = learn.recorder
    assert [list(row) for row in recorder.history] == [recorder.metric_names] * 2
    assert [row["epoch"] for row in recorder.history] == [0, 1]
    assert all(row["time"] > 0 for row in recorder.history)
    # values: [train_loss, valid_loss, *metrics], so values[-1][1] is the validation loss
    last = recorder.history[-1]
    assert recorder.values[-1] == [last["train_loss"], last["valid_loss"], last["accuracy"]]
    frame = recorder.history_frame()
    assert list(frame.columns) == recorder.metric_names
    assert frame["valid_loss"].tolist() == [row[1] for row in recorder.values]


def test_loads_history_saved_in_the_old_row_shape() -> None:
    learn = small_learner(classification=True, metrics=accuracy)
    learn.fit(1, lr=0.01)
    old_rows = [[0, 0.9, 0.8, 0.5, 1.5], [1, 0.7, 0.6, 0.75, 1.4]]
    learn.recorder.load_state_dict({"values": old_rows, "hps": {}, "losses": [0.9, 0.7]})
    assert learn.recorder.values == [[0.9, 0.8, 0.5], [0.7, 0.6, 0.75]]
    assert learn.recorder.history[1]["time"] == pytest.approx(1.4)
