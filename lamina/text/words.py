"""`WordTokenizer`: lamina's default tokenizer, words and punctuation with fastai's rules.

Speed comes from working on a whole batch of documents at once: they are joined with a separator,
the text-level rules run once over the joined text (str.replace, a vectorised scan for repeats),
`str.split` cuts it, and Python code looks only at the tokens that need it (those with capitals or
punctuation inside), found with C-level `map`s. Plain lowercase words never reach a Python loop.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import compress, count, islice
from operator import eq
from typing import Any

from lamina.text.rules import BOS, EOS, MAJ, SPECIAL_TOKENS, UP, WREP, fix_html, replace_repeats

# Bump when a change to the rules or the splitting changes the tokens (it keys the cache).
VERSION = 1
# Joins documents of a batch; `str.split` keeps it as a token of its own (NUL is not whitespace).
_SEPARATOR = "\x00"
# Pieces of a token holding punctuation: clitics as spaCy splits them ("do", "n't", "john", "'s"),
# decimal numbers whole, words, then each other character alone.
_PIECES = re.compile(
    r"n't\b|'(?:s|re|ve|ll|d|m)\b|\w+?(?=n't\b)|\d+(?:[.,]\d+)+|\w+|[^\w\s]", re.IGNORECASE
)
_SPECIAL = frozenset(SPECIAL_TOKENS)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while building many lists of tokens.

    Those lists hold no reference cycles, but allocating them triggers full collections that scan
    every object of the process (a third of the tokenizer's time once torch is imported).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def check_texts(texts: Sequence[str]) -> None:
    """Raise a `TypeError` naming the first item of `texts` that is not a str."""
    if isinstance(texts, str):
        raise TypeError("texts must be a list of str, got a single str; wrap it in a list")
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(
                f"texts[{index}] must be a str, got {type(text).__name__}: {text!r:.80}"
            )


def _case_tokens(token: str, lower: str) -> list[str]:
    """A token with capitals as `xxup`/`xxmaj` + its lowercase, or as it is if of mixed case."""
    if token.isupper():
        return [UP if len(token) > 1 else MAJ, lower]
    if token[0].isupper() and token[1:] == lower[1:]:
        return [MAJ, lower]
    return [token]  # mixed case (McDonald, iPhone): kept, as lowercasing would lose it


def _rewrite(token: str, lower: str) -> list[str]:
    """The tokens that replace one whitespace-separated chunk holding capitals or punctuation."""
    if lower.isalnum():
        return _case_tokens(token, lower)
    if len(token) == 1:
        return [token]
    out: list[str] = []
    for piece in _PIECES.findall(token):
        piece_lower = piece.lower()
        out += [piece] if piece == piece_lower else _case_tokens(piece, piece_lower)
    return out


def _replace_word_repeats(tokens: list[str], min_repeat: int) -> list[str]:
    """Runs of `min_repeat` or more of one word become `xxwrep N word`."""
    pairs = list(compress(count(), map(eq, tokens, islice(tokens, 1, None))))
    if len(pairs) < min_repeat - 1:
        return tokens
    out, done, index = [], 0, 0
    while index < len(pairs):
        start = end = pairs[index]  # tokens[start .. end + 1] are equal
        while index + 1 < len(pairs) and pairs[index + 1] == end + 1:
            index, end = index + 1, end + 1
        index += 1
        length, word = end - start + 2, tokens[start]
        if length >= min_repeat and word.isalnum() and word not in _SPECIAL:
            out += [*tokens[done:start], WREP, str(length), word]
            done = start + length
    return out + tokens[done:] if out else tokens


class WordTokenizer:
    """Split text into words and punctuation, applying fastai's rules (see `lamina.text.rules`).

    In order: HTML and WikiText fixes; runs of a character become `xxrep N c`; whitespace is
    collapsed; punctuation is split from words (clitics like `'s` and `n't` stay one token, as do
    decimals like `0.7`, and so `/` and `#` stand alone); capitalised words become `xxmaj word` and
    words in capitals `xxup word` (a single capital letter counts as capitalised, so `I` is
    `xxmaj i`; words of mixed case such as `iPhone` are kept as they are); runs of a word become
    `xxwrep N word`; `xxbos` starts each document (and `xxeos` ends it if `add_eos`). An empty
    document gives `[xxbos]` (or `[]` without `add_bos`).

    Example:
        >>> WordTokenizer()(["Hello WORLD, it's sooo good!"])
        [['xxbos', 'xxmaj', 'hello', 'xxup', 'world', ',', 'it', "'s", 's', 'xxrep', '3', 'o',
          'good', '!']]

    Args:
        min_repeat: shortest run of a character (`xxrep`) or word (`xxwrep`) that is replaced.
        add_bos: start each document with `xxbos`.
        add_eos: end each document with `xxeos`.
    """

    name = "words"

    def __init__(self, min_repeat: int = 3, add_bos: bool = True, add_eos: bool = False) -> None:
        if isinstance(min_repeat, bool) or not isinstance(min_repeat, int) or min_repeat < 2:
            raise ValueError(f"min_repeat must be an int >= 2, got {min_repeat!r}")
        self.min_repeat, self.add_bos, self.add_eos = min_repeat, bool(add_bos), bool(add_eos)

    def config(self) -> dict[str, Any]:
        """The settings as JSON: enough to rebuild this tokenizer, and part of the cache key."""
        return {
            "name": self.name,
            "version": VERSION,
            "min_repeat": self.min_repeat,
            "add_bos": self.add_bos,
            "add_eos": self.add_eos,
        }

    @classmethod
    def from_config(cls, state: dict[str, Any]) -> WordTokenizer:
        """Rebuild a tokenizer from `config()`."""
        if state.get("name") != cls.name:
            raise ValueError(f"state is for tokenizer {state.get('name')!r}, not {cls.name!r}")
        return cls(state["min_repeat"], state["add_bos"], state["add_eos"])

    def __call__(self, texts: Sequence[str]) -> list[list[str]]:
        """The tokens of each text in `texts` (a list of str)."""
        check_texts(texts)
        if not texts:
            return []
        if any(_SEPARATOR in text for text in texts):
            texts = [text.replace(_SEPARATOR, " ") for text in texts]
        with gc_paused():
            tokens, separators = self._tokens(f" {_SEPARATOR} ".join(texts))
            return self._split_documents(tokens, separators)

    def _tokens(self, text: str) -> tuple[list[str], list[int]]:
        """The tokens of the joined text, and the position of each separator among them."""
        chunks = replace_repeats(fix_html(text), self.min_repeat).split()
        chunks = _replace_word_repeats(chunks, self.min_repeat)
        # Few distinct chunks need work (a capital, or punctuation inside): find their rewrites once
        # each, then a C-level map over all chunks finds where they are; Python sees only those.
        rewrites = {}
        for chunk in set(chunks):
            lower = chunk.lower()
            if chunk != lower or not (len(chunk) == 1 or lower.isalnum()):
                rewrites[chunk] = _rewrite(chunk, lower)
        rewrites[_SEPARATOR] = []
        tokens: list[str] = []
        separators: list[int] = []
        done = 0
        for index in compress(count(), map(rewrites.__contains__, chunks)):
            tokens += chunks[done:index]
            chunk = chunks[index]
            if chunk == _SEPARATOR:
                separators.append(len(tokens))
            else:
                tokens += rewrites[chunk]
            done = index + 1
        tokens += chunks[done:]
        return tokens, separators

    def _split_documents(self, tokens: list[str], separators: list[int]) -> list[list[str]]:
        head = [BOS] if self.add_bos else []
        tail = [EOS] if self.add_eos else []
        starts, ends = [0, *separators], [*separators, len(tokens)]
        return [head + tokens[start:end] + tail for start, end in zip(starts, ends, strict=True)]
