"""show_batch and show_results sample across the set (seeded), honour figsize/nrows, and make
figures that pyplot does not track (nothing pops up in a script; Jupyter shows them once)."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pytest
from matplotlib.figure import Figure

from lamina.vision.show import show_results
from tests.vision.test_show import classifier

matplotlib.use("Agg")


def titles(fig: Figure) -> list[str]:
    return [ax.get_title() for ax in fig.axes if ax.get_title()]


@pytest.fixture(scope="module")
def learn(tmp_path_factory: pytest.TempPathFactory):  # valid: 8 images, 4 per class, sorted
    return classifier(tmp_path_factory.mktemp("data"))


def test_valid_show_batch_shows_both_classes_of_a_sorted_set(learn) -> None:
    first = titles(learn.dls.show_batch(max_n=4, ds_idx=1, shuffle=False))
    assert set(first) == {"bottom"}  # the stored order: the first class only
    sampled = titles(learn.dls.show_batch(max_n=4, ds_idx=1))
    assert set(sampled) == {"bottom", "top"}


def test_show_results_shows_both_classes_and_the_same_panels_for_a_seed(learn) -> None:
    actual = [title.split(" / ")[0] for title in titles(show_results(learn, max_n=4))]
    assert set(actual) == {"bottom", "top"}
    again = titles(show_results(learn, max_n=4))
    assert titles(show_results(learn, max_n=4)) == again
    others = [titles(show_results(learn, max_n=4, seed=seed)) for seed in (1, 2, 3)]
    assert any(other != again for other in others)


def test_figsize_and_nrows_are_honoured(learn) -> None:
    fig = learn.dls.show_batch(max_n=6, nrows=2, figsize=(5, 3))
    assert tuple(fig.get_size_inches()) == (5, 3)
    assert fig.axes[0].get_subplotspec().get_gridspec().get_geometry() == (2, 3)
    fig = show_results(learn, max_n=4, nrows=1, figsize=(8, 2))
    assert tuple(fig.get_size_inches()) == (8, 2)
    assert len(fig.axes) == 4


def test_figures_are_not_tracked_by_pyplot_and_render_png(learn, tmp_path: Path) -> None:
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    fig = learn.dls.show_batch(max_n=2)
    assert plt.get_fignums() == before
    bundle = fig._repr_mimebundle_()
    assert bundle["image/png"].startswith(b"\x89PNG")
    assert "image/png" not in fig._repr_mimebundle_(include={"text/plain"})
