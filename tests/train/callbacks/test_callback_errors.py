"""An exception inside a callback is re-raised naming the callback and the event."""

from __future__ import annotations

import pytest

from lamina import Callback

from .scripted import small_learner


class Faulty(Callback):
    """Fails on the second training batch."""

    def after_backward(self) -> None:
        if self.learn.iter == 1:
            raise KeyError("missing")


def test_error_names_callback_and_event() -> None:
    learn = small_learner(cbs=[Faulty()])
    with pytest.raises(KeyError, match="missing") as exc_info:
        learn.fit(1)
    notes = " ".join(getattr(exc_info.value, "__notes__", []))
    assert "raised in callback" in notes
    assert "Faulty" in notes
    assert "after_backward" in notes
    assert not learn.in_fit  # the learner is left usable
