"""The text type transforms: `Tokenize` (text -> tokens) and `Numericalize` (tokens -> ids).

Both run when a data set is built, over whole columns at once (`encode_many`): the tokenizer in
parallel with a disk cache, the vocabulary fitted on the training documents only. Their state is
JSON (the tokenizer's settings, or a subword model as base64; the vocabulary as a list), so it
travels inside an export.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from lamina.core.registry import register
from lamina.data.transform import Transform
from lamina.text.decode import detokenize
from lamina.text.numericalize import make_vocab, numericalize, textify
from lamina.text.rules import PAD, SPECIAL_TOKENS
from lamina.text.tokenize import tokenize_texts, tokenizer_from_config
from lamina.text.words import WordTokenizer

TOKENIZERS = ("words", "subword")


@register("transform", "Tokenize")
class Tokenize(Transform):
    """A document (str) -> its tokens, with the rules of the word tokenizer or a subword model.

    Args:
        tokenizer: "words" (lamina's rule-based word tokenizer), "subword" (a sentencepiece
            model trained on the training documents when the data set is built), or the
            `config()` of a fitted tokenizer.
        subword_vocab_size: pieces in a trained subword model.
        n_workers: processes for tokenizing a whole column (None: automatic).
        cache: keep tokenized columns in lamina's cache (keyed by the texts and the settings).
    """

    def __init__(
        self,
        tokenizer: str | dict[str, Any] = "words",
        subword_vocab_size: int = 8000,
        n_workers: int | None = None,
        cache: bool = True,
    ) -> None:
        if isinstance(tokenizer, str) and tokenizer not in TOKENIZERS:
            raise ValueError(
                f"tokenizer must be one of {TOKENIZERS} or a config, got {tokenizer!r}"
            )
        self.subword_vocab_size, self.n_workers, self.cache = subword_vocab_size, n_workers, cache
        self.tokenizer: Any = None
        if isinstance(tokenizer, dict):
            self.tokenizer = tokenizer_from_config(tokenizer)
        elif tokenizer == "words":
            self.tokenizer = WordTokenizer()

    def setup(self, texts: Sequence[Any]) -> None:
        """Train a subword model on the training documents, when one was asked for."""
        if self.tokenizer is None:
            from lamina.text.subword import SubwordTokenizer

            self.tokenizer = SubwordTokenizer.train(
                [str(text) for text in texts], vocab_size=self.subword_vocab_size
            )

    def _fitted(self) -> Any:
        if self.tokenizer is None:
            raise ValueError("the subword tokenizer is not trained yet: call setup(texts)")
        return self.tokenizer

    def encode(self, x: Any, kind: str) -> list[str]:
        return self._fitted()([_as_text(x)])[0]

    def encode_many(self, values: Sequence[Any], kind: str) -> list[Any]:
        texts = [_as_text(value) for value in values]
        return tokenize_texts(texts, self._fitted(), n_workers=self.n_workers, cache=self.cache)

    def decode(self, x: Any, kind: str) -> Any:
        if x and isinstance(x[0], list):
            return [self.decode(tokens, kind) for tokens in x]
        decoder = getattr(self.tokenizer, "decode", None)
        return decoder(list(x)) if decoder is not None else detokenize(list(x))

    def config(self) -> dict[str, Any]:
        tokenizer = self.tokenizer.config() if self.tokenizer is not None else "subword"
        return {"tokenizer": tokenizer, "subword_vocab_size": self.subword_vocab_size,
                "n_workers": self.n_workers, "cache": self.cache}  # fmt: skip


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None or (isinstance(value, float) and value != value):
        return ""  # a missing cell is an empty document (documented in TextDataLoaders)
    raise ValueError(f"a document must be text (str), got {type(value).__name__}: {value!r}")


@register("transform", "Numericalize")
class Numericalize(Transform):
    """Tokens -> int64 ids (L,) in a vocabulary fitted on the training documents.

    The vocabulary holds the special tokens first (`xxunk` is 0, `xxpad` 1), then the tokens
    seen at least `min_freq` times, most frequent first (ties alphabetical), `max_vocab` at most.
    Unknown tokens map to `xxunk`.
    """

    def __init__(
        self, vocab: Sequence[str] | None = None, min_freq: int = 3, max_vocab: int | None = 60_000
    ) -> None:
        if vocab is not None and not all(isinstance(token, str) for token in vocab):
            raise ValueError(
                "vocab must be a list of token strings; a text classifier's dls.vocab is "
                "[tokens, labels]: pass dls.vocab[0] (or dls.text_vocab)"
            )
        self.vocab = None if vocab is None else [str(token) for token in vocab]
        self.min_freq, self.max_vocab = min_freq, max_vocab
        self._stoi: dict[str, int] | None = None

    def setup(self, documents: Sequence[Sequence[str]]) -> None:
        """Fit the vocabulary on the training documents, unless one was given."""
        if self.vocab is not None:
            return
        vocab = make_vocab(documents, self.min_freq, self.max_vocab)
        if len(vocab) == len(dict.fromkeys(SPECIAL_TOKENS)):
            raise ValueError(
                f"no token of the {len(documents)} training documents appears min_freq="
                f"{self.min_freq} times: the vocabulary would hold special tokens only; lower "
                "min_freq or give more text"
            )
        self.vocab = vocab

    @property
    def stoi(self) -> dict[str, int]:
        """Token -> id."""
        if self.vocab is None:
            raise ValueError("Numericalize has no vocab: call setup(documents) or pass vocab=")
        if self._stoi is None:
            self._stoi = {token: index for index, token in enumerate(self.vocab)}
        return self._stoi

    def encode(self, x: Any, kind: str) -> torch.Tensor:
        return torch.tensor(numericalize(x, self.stoi), dtype=torch.int64)

    def encode_many(self, values: Sequence[Any], kind: str) -> list[Any]:
        stoi = self.stoi
        return [torch.tensor(numericalize(tokens, stoi), dtype=torch.int64) for tokens in values]

    def decode(self, x: Any, kind: str) -> Any:
        if self.vocab is None:
            return x
        if isinstance(x, torch.Tensor) and x.ndim > 1:
            return [self.decode(row, kind) for row in x]
        tokens = textify(torch.as_tensor(x).tolist(), self.vocab)
        return [token for token in tokens if token != PAD]

    def config(self) -> dict[str, Any]:
        return {"vocab": self.vocab, "min_freq": self.min_freq, "max_vocab": self.max_vocab}
