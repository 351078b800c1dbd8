"""ShowGraph: one PNG of the losses in the notebook, replaced after every epoch; nothing
elsewhere."""

from __future__ import annotations

import base64

import pytest

import lamina
from lamina.testing import tiny_learner
from lamina.train.callbacks import ShowGraph

from .notebook_fakes import fake_notebook


def test_one_graph_updated_in_place_after_each_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    import matplotlib.pyplot as plt

    outputs = fake_notebook(monkeypatch)
    figures_before = plt.get_fignums()
    learn = tiny_learner(cbs=ShowGraph())
    learn.fit(3, lr=0.01)
    (graph,) = outputs  # the progress bar is silent here: the graph is the only output
    assert len(graph.bundles) == 3
    for bundle in graph.bundles:
        assert base64.b64decode(bundle["image/png"]).startswith(b"\x89PNG\r\n\x1a\n")
    assert plt.get_fignums() == figures_before  # pyplot never saw the figures

    ax = learn.show_graph.draw().axes[0]
    train, valid = ax.get_lines()
    assert list(train.get_ydata()) == pytest.approx(learn.recorder.losses)
    assert list(valid.get_ydata()) == pytest.approx(
        [r["valid_loss"] for r in learn.recorder.history]
    )
    n_batches = len(learn.dls.train)
    assert list(valid.get_xdata()) == pytest.approx([n_batches, 2 * n_batches, 3 * n_batches])
    assert ax.get_xlim() == pytest.approx((0, 3 * n_batches))


def test_draws_nothing_outside_a_notebook(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object) -> None:
        raise AssertionError("nothing should be drawn")

    monkeypatch.setattr(ShowGraph, "draw", fail)
    monkeypatch.setattr(lamina.core.notebook, "show", fail)
    tiny_learner(cbs=ShowGraph()).fit(1)


def test_exported_at_the_top() -> None:
    assert lamina.ShowGraph is ShowGraph
