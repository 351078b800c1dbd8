"""Token vocabularies and the mapping between tokens and ids.

A vocabulary is a plain list of str (`itos`, id -> token): JSON as it is, and
`lamina.data.vocab.Vocab(itos)` keeps its order. `SPECIAL_TOKENS` come first, so `xxunk` is 0 and
`xxpad` is 1; then tokens by count, most frequent first, ties in alphabetical order, so the same
corpus always gives the same vocabulary.

Example:
    >>> itos = make_vocab([["xxbos", "a", "b", "a"]], min_freq=1)
    >>> itos[9:], numericalize(["a", "zzz"], itos)
    (['a', 'b'], [9, 0])
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from lamina.text.rules import SPECIAL_TOKENS, UNK


def count_tokens(documents: Iterable[Sequence[str]]) -> Counter[str]:
    """How often each token appears in `documents` (lists of tokens)."""
    counts: Counter[str] = Counter()
    for document in documents:
        counts.update(document)
    return counts


def make_vocab(
    documents: Iterable[Sequence[str]] | Counter[str],
    min_freq: int = 3,
    max_vocab: int | None = 60_000,
    special_tokens: Sequence[str] = SPECIAL_TOKENS,
) -> list[str]:
    """The vocabulary (`itos`) of `documents`: special tokens, then tokens seen `min_freq` times.

    Args:
        documents: lists of tokens, or their counts (a `Counter`).
        min_freq: a token must appear at least this often to get an id of its own.
        max_vocab: the most tokens in the vocabulary, special tokens included (None: no limit).
        special_tokens: the tokens that come first whatever their counts.
    """
    if isinstance(min_freq, bool) or not isinstance(min_freq, int) or min_freq < 1:
        raise ValueError(f"min_freq must be an int >= 1, got {min_freq!r}")
    if max_vocab is not None and (
        isinstance(max_vocab, bool) or not isinstance(max_vocab, int) or max_vocab < 2
    ):
        raise ValueError(f"max_vocab must be None or an int >= 2, got {max_vocab!r}")
    counts = documents if isinstance(documents, Counter) else count_tokens(documents)
    special = list(dict.fromkeys(special_tokens))
    if max_vocab is not None and len(special) > max_vocab:
        raise ValueError(f"max_vocab={max_vocab} leaves no room for {len(special)} special tokens")
    seen = set(special)
    frequent = [(-n, token) for token, n in counts.items() if n >= min_freq and token not in seen]
    frequent.sort()  # by count descending, then alphabetically
    room = None if max_vocab is None else max_vocab - len(special)
    return special + [token for _, token in frequent[:room]]


def numericalize(
    tokens: Sequence[str], itos: Sequence[str] | dict[str, int], unk: str = UNK
) -> list[int]:
    """The id of each token in `itos`; tokens not in it get the id of `unk` (`xxunk`).

    `itos` may also be the reverse mapping (token -> id), to build it once for many calls.
    """
    stoi = itos if isinstance(itos, dict) else {token: index for index, token in enumerate(itos)}
    if unk not in stoi:
        raise ValueError(f"the vocabulary must hold the unknown token {unk!r}")
    return list(map(stoi.get, tokens, [stoi[unk]] * len(tokens)))


def textify(ids: Iterable[int], itos: Sequence[str]) -> list[str]:
    """The token of each id (ids outside the vocabulary raise an `IndexError` naming them)."""
    ids = [int(index) for index in ids]
    bad = [index for index in ids if index < 0 or index >= len(itos)]
    if bad:
        raise IndexError(f"ids {bad[:5]} are outside the vocabulary of {len(itos)} tokens")
    return [itos[index] for index in ids]
