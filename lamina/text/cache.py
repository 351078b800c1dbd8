"""A disk cache of tokenized corpora, keyed by the texts and the tokenizer's settings.

One safetensors file per corpus and tokenizer, `<cache_dir>/tokens/<key>.safetensors`, holding the
token ids of all documents end to end (`ids`, int32), where each document ends (`ends`, int64),
and as JSON metadata the distinct tokens (`ids` index them) and the tokenizer's state. No pickle:
reading a cache file parses arrays and JSON only. Files are written atomically, so an interrupted
run leaves no partial file; a damaged one is ignored and rewritten.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

FORMAT = "lamina.tokens/1"


def cache_key(texts: Sequence[str], tokenizer_state: dict[str, Any]) -> str:
    """A SHA-256 hex digest of the texts (each with its length, so boundaries count) and state.

    `tokenizer_state` is the tokenizer's `config()`: name, version, rules' settings, and for a
    subword tokenizer its model (bytes as base64), so any change of settings gives a new key.
    """
    digest = hashlib.sha256()
    digest.update(FORMAT.encode())
    digest.update(json.dumps(tokenizer_state, sort_keys=True).encode())
    for text in texts:
        data = text.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()


def cache_file(key: str, folder: str | os.PathLike[str] | None = None) -> Path:
    """Where the tokens for `key` are kept: `folder`, else lamina's cache folder under `tokens/`."""
    if folder is None:
        from lamina.data.download import cache_dir

        folder = cache_dir() / "tokens"
    return Path(folder) / f"{key}.safetensors"


def save_tokens(path: Path, documents: list[list[str]], tokenizer_state: dict[str, Any]) -> None:
    """Write `documents` (lists of tokens) to `path` atomically."""
    import numpy as np
    import torch

    from lamina.core.files import save_tensors_json

    index: dict[str, int] = {}
    ids = [index.setdefault(token, len(index)) for document in documents for token in document]
    ends = np.cumsum([len(document) for document in documents], dtype=np.int64)
    tensors = {
        "ids": torch.from_numpy(np.asarray(ids, dtype=np.int32)),
        "ends": torch.from_numpy(ends),
    }
    info = {"format": FORMAT, "tokens": list(index), "tokenizer": tokenizer_state}
    save_tensors_json(path, tensors, info)


def load_tokens(path: Path) -> list[list[str]] | None:
    """The documents stored at `path`, or None if it is missing or not a valid tokens file."""
    from lamina.core.files import load_tensors_json

    if not path.is_file():
        return None
    try:
        tensors, info = load_tensors_json(path)
        if info.get("format") != FORMAT:
            return None
        tokens = list(map(info["tokens"].__getitem__, tensors["ids"].tolist()))
        ends = tensors["ends"].tolist()
    except (ValueError, KeyError, IndexError, TypeError, OSError):
        return None  # damaged or foreign: tokenize again and overwrite
    starts = [0, *ends[:-1]]
    return [tokens[start:end] for start, end in zip(starts, ends, strict=True)]
