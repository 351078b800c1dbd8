"""detokenize undoes the word tokenizer's rules."""

from __future__ import annotations

import pytest

from lamina.text.decode import detokenize
from lamina.text.words import WordTokenizer


@pytest.mark.parametrize(
    "text",
    [
        "Hello WORLD, it's good! I don't know... McDonald's 0.7 kg, no no no.",
        'He said "Go (now) to A/B" and paid $5.',
        "NASA's I",
        "",
    ],
)
def test_round_trip(text: str) -> None:
    assert detokenize(WordTokenizer(add_eos=True)([text])[0]) == text


def test_rules_are_undone() -> None:
    assert (
        detokenize(["xxbos", "xxmaj", "word", "xxup", "nasa", "xxrep", "3", "a"]) == "Word NASA aaa"
    )
    assert detokenize(["xxwrep", "3", "no", "xxpad", "xxpad"]) == "no no no"


def test_repeated_capital_decodes_to_capitals() -> None:
    tokens = WordTokenizer()(["AAAA"])[0]
    assert tokens == ["xxbos", "xxrep", "4", "xxmaj", "a"]
    assert detokenize(tokens) == "AAAA"
