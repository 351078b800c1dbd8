"""`SubwordTokenizer`: a sentencepiece model (unigram or BPE) trained on the corpus, kept as bytes.

The model lives in memory as the bytes of its protobuf, never as a side file, so it travels inside
whatever holds the tokenizer's `config()`: a JSON dict with the model as base64 text (`model`).
JSON keeps the state in one place with the rest of an export's metadata; base64 costs a third more
space, a few hundred KB for usual vocabulary sizes. Needs `pip install lamina[text]`.

The vocabulary's first ids are lamina's `SPECIAL_TOKENS` in their order (`xxunk` 0, `xxpad` 1,
`xxbos` 2, ...), the same as the word tokenizer's vocabularies.

Example:
    >>> tokenizer = SubwordTokenizer.train(texts, vocab_size=500)
    >>> same = SubwordTokenizer.from_config(json.loads(json.dumps(tokenizer.config())))
    >>> same(["Some text"]) == tokenizer(["Some text"])
    True
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from typing import Any

from lamina.text.rules import BOS, EOS, PAD, SPECIAL_TOKENS, UNK, fix_html
from lamina.text.words import check_texts

VERSION = 1
MODEL_TYPES = ("unigram", "bpe")


def _sentencepiece() -> Any:
    try:
        import sentencepiece
    except ImportError as error:
        raise ImportError(
            "SubwordTokenizer needs sentencepiece: pip install 'lamina[text]'"
        ) from error
    return sentencepiece


def _clean(text: str) -> str:
    """HTML/WikiText fixes and whitespace collapsed; case and repeats are left to the model."""
    return " ".join(fix_html(text, unk=False).split())


class SubwordTokenizer:
    """Split text into sentencepiece pieces (`▁the`, `▁token`, `izer`), from a model held as bytes.

    Build one with `SubwordTokenizer.train(texts, ...)`, or from bytes of a trained model, or from
    a `config()`. Calling it tokenizes a batch: `tokenizer(texts) -> list[list[str]]`.

    Args:
        model: the serialized sentencepiece model (`ModelProto` bytes).
        add_bos: start each document with `xxbos`.
        add_eos: end each document with `xxeos`.
    """

    name = "subword"

    def __init__(self, model: bytes, add_bos: bool = True, add_eos: bool = False) -> None:
        if not isinstance(model, (bytes, bytearray)) or not model:
            raise ValueError(f"model must be the non-empty bytes of a model, got {type(model)}")
        self.model = bytes(model)
        self.add_bos, self.add_eos = bool(add_bos), bool(add_eos)
        self._processor = _sentencepiece().SentencePieceProcessor(model_proto=self.model)

    @classmethod
    def train(
        cls,
        texts: Sequence[str],
        vocab_size: int = 8000,
        model_type: str = "unigram",
        character_coverage: float = 0.9999,
        add_bos: bool = True,
        add_eos: bool = False,
    ) -> SubwordTokenizer:
        """Train a model on `texts` (in memory; one sentence a line of each text).

        Args:
            vocab_size: the number of pieces, special tokens included; a small corpus may give
                fewer (the limit is soft).
            model_type: "unigram" or "bpe".
            character_coverage: the share of characters the model covers; rarer ones become
                `xxunk` (1.0 for small alphabets; a little less for e.g. Chinese).
        """
        check_texts(texts)
        if model_type not in MODEL_TYPES:
            raise ValueError(f"model_type must be one of {MODEL_TYPES}, got {model_type!r}")
        if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or vocab_size <= 20:
            raise ValueError(f"vocab_size must be an int > 20, got {vocab_size!r}")
        lines = [
            line
            for text in texts
            for line in fix_html(text, unk=False).splitlines()
            if line.strip()
        ]
        if not lines:
            raise ValueError("texts hold no text to train a subword model on")
        model = io.BytesIO()
        _sentencepiece().SentencePieceTrainer.train(
            sentence_iterator=iter(lines),
            model_writer=model,
            vocab_size=vocab_size,
            model_type=model_type,
            character_coverage=character_coverage,
            hard_vocab_limit=False,
            unk_id=0,
            pad_id=1,
            bos_id=2,
            eos_id=3,
            unk_piece=UNK,
            pad_piece=PAD,
            bos_piece=BOS,
            eos_piece=EOS,
            user_defined_symbols=SPECIAL_TOKENS[4:],
            max_sentence_length=1 << 16,
            shuffle_input_sentence=False,
            num_threads=1,
            minloglevel=2,
        )
        return cls(model.getvalue(), add_bos=add_bos, add_eos=add_eos)

    def config(self) -> dict[str, Any]:
        """The tokenizer as JSON: settings and the model as base64 (also the cache key)."""
        return {
            "name": self.name,
            "version": VERSION,
            "add_bos": self.add_bos,
            "add_eos": self.add_eos,
            "model": base64.b64encode(self.model).decode("ascii"),
        }

    @classmethod
    def from_config(cls, state: dict[str, Any]) -> SubwordTokenizer:
        """Rebuild a tokenizer from `config()`."""
        if state.get("name") != cls.name:
            raise ValueError(f"state is for tokenizer {state.get('name')!r}, not {cls.name!r}")
        model = base64.b64decode(state["model"].encode("ascii"), validate=True)
        return cls(model, add_bos=state["add_bos"], add_eos=state["add_eos"])

    def vocab(self) -> list[str]:
        """The model's pieces in id order (`SPECIAL_TOKENS` first), for `numericalize`."""
        processor = self._processor
        return [processor.id_to_piece(index) for index in range(processor.get_piece_size())]

    def __call__(self, texts: Sequence[str]) -> list[list[str]]:
        """The pieces of each text in `texts` (a list of str)."""
        check_texts(texts)
        if not texts:
            return []
        pieces = self._processor.encode([_clean(text) for text in texts], out_type=str)
        head = [BOS] if self.add_bos else []
        tail = [EOS] if self.add_eos else []
        return [head + document + tail for document in pieces]

    def decode(self, pieces: Sequence[str]) -> str:
        """The text of `pieces`, special tokens left out."""
        special = set(SPECIAL_TOKENS)
        return self._processor.decode_pieces([piece for piece in pieces if piece not in special])
