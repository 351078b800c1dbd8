"""Small real English text for the text tests.

- `novel_sentences`: sentences of the public-domain novel excerpt in tests/text/data (Botchan).
- `labelled_sentences`: those sentences labelled "novel" beside as many sentences of Python's
  own help texts (`pydoc_data.topics`, shipped with every Python) labelled "python": a small
  real two-class corpus (prose against technical documentation).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

DATA = Path(__file__).parent / "data"


def _sentences(text: str, lowest: int = 6) -> list[str]:
    text = re.sub(r"\s+", " ", text)
    pieces = re.split(r"(?<=[.!?])\s+", text)
    return [piece.strip() for piece in pieces if len(piece.split()) >= lowest]


@pytest.fixture(scope="session")
def novel_sentences() -> list[str]:
    return _sentences((DATA / "botchan_excerpt.txt").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def labelled_sentences(novel_sentences: list[str]) -> pd.DataFrame:
    from pydoc_data.topics import topics

    python = []
    for name in sorted(topics):
        python += _sentences(topics[name])
        if len(python) >= len(novel_sentences):
            break
    python = python[: len(novel_sentences)]
    frame = pd.DataFrame({
        "text": novel_sentences + python,
        "label": ["novel"] * len(novel_sentences) + ["python"] * len(python),
    })  # fmt: skip
    return frame.sample(frac=1.0, random_state=0).reset_index(drop=True)
