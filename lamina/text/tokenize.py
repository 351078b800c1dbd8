"""`tokenize_texts`: tokenize a corpus over several processes, with a disk cache.

Example:
    >>> docs = tokenize_texts(["A first text.", "And a SECOND one!"])
    >>> docs[1]
    ['xxbos', 'xxmaj', 'and', 'a', 'xxup', 'second', 'one', '!']
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from lamina.text.cache import cache_file, cache_key, load_tokens, save_tokens
from lamina.text.words import WordTokenizer, check_texts, gc_paused

# Below this many characters a process pool costs more than it saves.
MIN_PARALLEL_CHARS = 1_000_000
# Each worker gets a few pieces, so one slow piece does not leave the others idle.
PIECES_PER_WORKER = 4


class Tokenizer(Protocol):
    """What `tokenize_texts` needs: a batch call, and JSON state to key the cache and rebuild it."""

    def __call__(self, texts: Sequence[str]) -> list[list[str]]: ...

    def config(self) -> dict[str, Any]: ...


def tokenizer_from_config(state: dict[str, Any]) -> Tokenizer:
    """Rebuild a tokenizer from its `config()` (a `WordTokenizer` or a `SubwordTokenizer`)."""
    name = state.get("name")
    if name == WordTokenizer.name:
        return WordTokenizer.from_config(state)
    if name == "subword":
        from lamina.text.subword import SubwordTokenizer

        return SubwordTokenizer.from_config(state)
    raise ValueError(f"unknown tokenizer {name!r}; expected 'words' or 'subword'")


def default_workers() -> int:
    """The number of cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def tokenize_texts(
    texts: Sequence[str],
    tokenizer: Tokenizer | None = None,
    n_workers: int | None = None,
    cache: bool = True,
    cache_folder: str | os.PathLike | None = None,
) -> list[list[str]]:
    """The tokens of each text, computed over `n_workers` processes, or read from the cache.

    Args:
        texts: the documents (each a str; an empty one gives just `xxbos`, or nothing).
        tokenizer: a `WordTokenizer` (the default, with its default rules) or `SubwordTokenizer`.
        n_workers: processes to use; None for all cores, 0 or 1 to work in this process. Inputs
            under `MIN_PARALLEL_CHARS` characters are always tokenized in this process.
        cache: read the result from, and write it to, the cache. The key is a hash of the texts
            and the tokenizer's `config()`, so other texts or settings never read stale tokens.
        cache_folder: where cache files go; default `<lamina cache dir>/tokens`.
    """
    if n_workers is not None and (isinstance(n_workers, bool) or n_workers < 0):
        raise ValueError(f"n_workers must be None or an int >= 0, got {n_workers!r}")
    check_texts(texts)
    tokenizer = WordTokenizer() if tokenizer is None else tokenizer
    state = tokenizer.config()
    path = cache_file(cache_key(texts, state), cache_folder) if cache else None
    with gc_paused():
        cached = load_tokens(path) if path is not None else None
        if cached is not None and len(cached) == len(texts):
            return cached
        workers = default_workers() if n_workers is None else n_workers
        if workers <= 1 or sum(map(len, texts)) < MIN_PARALLEL_CHARS:
            documents = tokenizer(list(texts))
        else:
            documents = _tokenize_in_pool(list(texts), state, workers)
        if path is not None:
            save_tokens(path, documents, state)
    return documents


_worker_tokenizer: Tokenizer | None = None


def _start_worker(state: dict[str, Any]) -> None:
    global _worker_tokenizer
    _worker_tokenizer = tokenizer_from_config(state)


def _tokenize_piece(texts: list[str]) -> str:
    """The tokens as one string (documents a line each, tokens space-separated).

    Sending one string back is a copy of bytes, where a list of lists of str costs an object per
    token on both sides. Tokens never hold whitespace: both tokenizers split on it.
    """
    assert _worker_tokenizer is not None
    return "\n".join(" ".join(document) for document in _worker_tokenizer(texts))


def _tokenize_in_pool(texts: list[str], state: dict[str, Any], workers: int) -> list[list[str]]:
    """Contiguous pieces of `texts` tokenized by `workers` processes, results in order."""
    n_pieces = min(len(texts), workers * PIECES_PER_WORKER)
    bounds = [len(texts) * piece // n_pieces for piece in range(n_pieces + 1)]
    pieces = [texts[start:end] for start, end in zip(bounds, bounds[1:], strict=False)]
    # fork starts workers fast and shares the loaded modules; it is unsafe once threads run.
    method = "fork" if threading.active_count() == 1 and os.name == "posix" else "spawn"
    context = multiprocessing.get_context(method)
    with context.Pool(workers, initializer=_start_worker, initargs=(state,)) as pool:
        results = pool.map(_tokenize_piece, pieces)
    return [line.split(" ") if line else [] for result in results for line in result.split("\n")]


def cached_tokens_path(
    texts: Sequence[str], tokenizer: Tokenizer | None = None, cache_folder: str | None = None
) -> Path:
    """The cache file `tokenize_texts` uses for these texts and tokenizer (it may not exist yet)."""
    tokenizer = WordTokenizer() if tokenizer is None else tokenizer
    return cache_file(cache_key(texts, tokenizer.config()), cache_folder)
