"""SubwordTokenizer: trained on real text, carried as bytes in JSON, rebuilt identically."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lamina.text.rules import SPECIAL_TOKENS
from lamina.text.tokenize import tokenize_texts, tokenizer_from_config

pytest.importorskip("sentencepiece")
from lamina.text.subword import SubwordTokenizer  # noqa: E402

BOTCHAN = Path(__file__).parent / "data" / "botchan_excerpt.txt"


@pytest.fixture(scope="module")
def lines() -> list[str]:
    return [line for line in BOTCHAN.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def tokenizer(lines: list[str]) -> SubwordTokenizer:
    return SubwordTokenizer.train(lines, vocab_size=300)


def test_vocab_starts_with_special_tokens(tokenizer: SubwordTokenizer) -> None:
    vocab = tokenizer.vocab()
    assert vocab[: len(SPECIAL_TOKENS)] == SPECIAL_TOKENS
    assert len(vocab) == 300


def test_pieces_cover_the_text(tokenizer: SubwordTokenizer, lines: list[str]) -> None:
    pieces = tokenizer(lines[:3])
    assert all(document[0] == "xxbos" for document in pieces)
    assert len(pieces[0]) > len(lines[0].split())  # split below words
    assert [tokenizer.decode(document) for document in pieces] == lines[:3]


def test_model_travels_as_bytes_in_json(tokenizer: SubwordTokenizer, lines: list[str]) -> None:
    state = json.loads(json.dumps(tokenizer.config()))
    rebuilt = tokenizer_from_config(state)
    assert isinstance(rebuilt, SubwordTokenizer)
    assert rebuilt.model == tokenizer.model
    assert rebuilt(lines) == tokenizer(lines)


@pytest.mark.parametrize("model_type", ["unigram", "bpe"])
def test_training_is_deterministic(lines: list[str], model_type: str) -> None:
    first = SubwordTokenizer.train(lines, vocab_size=200, model_type=model_type)
    second = SubwordTokenizer.train(lines, vocab_size=200, model_type=model_type)
    assert first.model == second.model


def test_cache_is_keyed_by_the_model(tmp_path: Path, lines: list[str]) -> None:
    small = SubwordTokenizer.train(lines, vocab_size=100)
    large = SubwordTokenizer.train(lines, vocab_size=400)
    first = tokenize_texts(lines, small, n_workers=0, cache_folder=tmp_path)
    second = tokenize_texts(lines, large, n_workers=0, cache_folder=tmp_path)
    assert first != second
    assert len(list(tmp_path.iterdir())) == 2
    assert tokenize_texts(lines, small, n_workers=0, cache_folder=tmp_path) == first


def test_bad_arguments(lines: list[str]) -> None:
    with pytest.raises(ValueError, match="model_type must be one of"):
        SubwordTokenizer.train(lines, model_type="word")
    with pytest.raises(ValueError, match="vocab_size must be an int > 20, got 5"):
        SubwordTokenizer.train(lines, vocab_size=5)
    with pytest.raises(ValueError, match="no text"):
        SubwordTokenizer.train(["", " "])
    with pytest.raises(TypeError, match=r"texts\[0\] must be a str"):
        SubwordTokenizer.train([b"bytes"])
