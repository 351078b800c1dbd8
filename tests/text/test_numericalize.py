"""Vocabularies from counts, and tokens to ids and back."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from lamina.data.vocab import Vocab
from lamina.text.numericalize import make_vocab, numericalize, textify
from lamina.text.rules import SPECIAL_TOKENS

DOCS = [["b", "a", "c", "a", "b"], ["d", "a", "b", "e"]]  # a:3 b:3 c:1 d:1 e:1


def test_specials_first_then_by_count_then_alphabetically() -> None:
    assert make_vocab(DOCS, min_freq=1) == [*SPECIAL_TOKENS, "a", "b", "c", "d", "e"]
    assert make_vocab(Counter({"z": 2, "y": 5, "x": 2}), min_freq=1)[9:] == ["y", "x", "z"]


def test_min_freq_and_max_vocab() -> None:
    assert make_vocab(DOCS, min_freq=2)[9:] == ["a", "b"]
    assert make_vocab(DOCS, min_freq=1, max_vocab=11) == [*SPECIAL_TOKENS, "a", "b"]
    assert make_vocab(DOCS, min_freq=1, max_vocab=None)[9:] == ["a", "b", "c", "d", "e"]


def test_special_tokens_in_the_corpus_are_not_repeated() -> None:
    itos = make_vocab([["xxbos", "xxmaj", "a"]] * 3)
    assert itos == [*SPECIAL_TOKENS, "a"]


def test_vocab_is_json_and_becomes_a_vocab() -> None:
    itos = make_vocab(DOCS, min_freq=1)
    assert json.loads(json.dumps(itos)) == itos
    vocab = Vocab(itos)
    assert (vocab.index("xxunk"), vocab.index("xxpad")) == (0, 1)
    assert list(vocab) == itos


def test_unknown_tokens_map_to_xxunk_and_back() -> None:
    itos = make_vocab(DOCS, min_freq=2)
    ids = numericalize(["a", "zzz", "b", "xxpad"], itos)
    assert ids == [9, 0, 10, 1]
    assert textify(ids, itos) == ["a", "xxunk", "b", "xxpad"]
    stoi = {token: index for index, token in enumerate(itos)}
    assert numericalize(["b"], stoi) == [10]


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="min_freq must be an int >= 1, got 0"):
        make_vocab(DOCS, min_freq=0)
    with pytest.raises(ValueError, match="max_vocab=5 leaves no room"):
        make_vocab(DOCS, max_vocab=5)
    with pytest.raises(ValueError, match="must hold the unknown token"):
        numericalize(["a"], ["a"])
    with pytest.raises(IndexError, match=r"ids \[99\] are outside"):
        textify([1, 99], SPECIAL_TOKENS)
