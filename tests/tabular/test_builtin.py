"""The built-in penguins table."""

from __future__ import annotations

import sys

import pytest

from lamina.tabular import load_penguins


def test_load_penguins() -> None:
    pytest.importorskip("palmerpenguins")
    df = load_penguins()
    assert df.shape == (344, 8)
    assert sorted(df["species"].unique()) == ["Adelie", "Chinstrap", "Gentoo"]


def test_missing_package_names_the_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "palmerpenguins", None)
    with pytest.raises(ImportError, match="pip install palmerpenguins"):
        load_penguins()
