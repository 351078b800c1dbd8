"""fastai's names that lamina spells differently fail loudly, naming lamina's way."""

from __future__ import annotations

import importlib
import re

import pytest

import lamina
from lamina.core.fastai_names import HINTS, FastaiNameError

PACKAGES = ["lamina", "lamina.vision", "lamina.tabular", "lamina.text", "lamina.collab"]


def test_from_import_succeeds_and_the_first_call_names_lamina_s_function() -> None:
    from lamina import cnn_learner
    from lamina.vision import cnn_learner as from_vision

    for placeholder in (cnn_learner, from_vision):
        with pytest.raises(FastaiNameError, match=r"use lamina\.vision\.vision_learner\(dls"):
            placeholder(None, "resnet34")


def test_attribute_use_subclassing_and_isinstance_fail_loudly() -> None:
    with pytest.raises(FastaiNameError, match="pass the URL itself"):
        lamina.URLs.PETS  # noqa: B018
    with pytest.raises(FastaiNameError, match=r"fastai's fname= is name="):

        class MySave(lamina.SaveModelCallback):  # type: ignore[misc]
            pass

    with pytest.raises(FastaiNameError, match=r"lamina\.EarlyStopping\(monitor"):
        isinstance(object(), lamina.EarlyStoppingCallback)


def test_tabular_normalize_points_to_standardize() -> None:
    from lamina.tabular import Normalize

    with pytest.raises(FastaiNameError, match=r"lamina\.tabular\.Standardize"):
        Normalize()


def test_other_missing_names_are_plain_attribute_errors() -> None:
    for package in PACKAGES:
        module = importlib.import_module(package)
        assert not hasattr(module, "no_such_name")
        with pytest.raises(AttributeError, match=f"module '{package}' has no attribute 'Lerner'"):
            module.Lerner  # noqa: B018
    with pytest.raises(ImportError):
        from lamina import Lerner  # noqa: F401
    with pytest.raises(AttributeError):
        lamina.cnn_learner.__wrapped__  # noqa: B018  (tools probing private names get None)


def test_every_lamina_name_a_hint_mentions_exists() -> None:
    mentioned = {match for hint in HINTS.values()
                 for match in re.findall(r"lamina(?:\.\w+)+", hint)}  # fmt: skip
    assert mentioned
    missing = []
    for dotted in sorted(mentioned):
        parts = dotted.split(".")
        for cut in range(len(parts), 0, -1):  # the longest importable module, then attributes
            try:
                obj = importlib.import_module(".".join(parts[:cut]))
                break
            except ImportError:
                continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr, None)
        if obj is None or type(obj).__name__ == "FastaiName":
            missing.append(dotted)
    assert missing == []


def test_no_hint_is_stale_at_the_top_level() -> None:
    # (hints for names an application has, as ImageDataLoaders, serve the other packages)
    assert not set(HINTS) & set(vars(lamina))
