"""A stand-in for the notebook: `lamina.core.notebook.show` replaced by outputs that record
every bundle shown or updated, and `in_notebook` made true."""

from __future__ import annotations

import pytest

from lamina.core import notebook


class FakeOutput:
    """Records the first bundle shown and every update, in order."""

    def __init__(self, bundle: dict[str, str]) -> None:
        self.bundles = [bundle]

    def update(self, bundle: dict[str, str]) -> None:
        self.bundles.append(bundle)

    @property
    def last(self) -> dict[str, str]:
        return self.bundles[-1]


def fake_notebook(monkeypatch: pytest.MonkeyPatch) -> list[FakeOutput]:
    """Pretend to run in a Jupyter kernel; returns the list each shown output is appended to."""
    outputs: list[FakeOutput] = []

    def show(bundle: dict[str, str]) -> FakeOutput:
        outputs.append(FakeOutput(bundle))
        return outputs[-1]

    monkeypatch.setattr(notebook, "in_notebook", lambda: True)
    monkeypatch.setattr(notebook, "show", show)
    return outputs


def forbid_tqdm(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any use of a tqdm bar fail the test."""
    import tqdm
    import tqdm.auto

    class NoTqdm:
        def __init__(self, *args: object, **kwargs: object) -> None:
            raise AssertionError("tqdm was used")

        @staticmethod
        def write(*args: object, **kwargs: object) -> None:
            raise AssertionError("tqdm.write was used")

    monkeypatch.setattr(tqdm, "tqdm", NoTqdm)
    monkeypatch.setattr(tqdm.auto, "tqdm", NoTqdm)
