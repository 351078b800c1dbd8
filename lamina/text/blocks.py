"""`TextBlock`: documents as token ids, for a language model or a classifier.

A document is tokenized and numericalized when the data set is built (whole columns at once, in
parallel, cached). Batches come from the block's own loaders: a `LanguageModelStream` for a
language model, `LengthSortedBatches` (padded at the end with `xxpad`, id 1) for a classifier.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import torch

from lamina.core.registry import register
from lamina.data.blocks import TransformBlock
from lamina.data.loaders import TargetInfo
from lamina.data.transform import Transform
from lamina.text.batches import LanguageModelStream, LengthSortedBatches, pad_right
from lamina.text.rules import PAD, SPECIAL_TOKENS
from lamina.text.transforms import Numericalize, Tokenize

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from lamina.data.item_dataset import ItemDataset

PAD_ID = SPECIAL_TOKENS.index(PAD)


@register("block", "text")
class TextBlock(TransformBlock):
    """Documents (str) -> token ids (L,), batched for a language model or a classifier.

    Args:
        is_lm: batches for a language model (a stream of windows, targets shifted by one)
            instead of padded documents for a classifier.
        vocab: a vocabulary to reuse (e.g. the language model's `dls.vocab`, so a classifier
            shares its encoder's ids); None fits one on the training documents.
        min_freq, max_vocab: the vocabulary's cut-offs (see `Numericalize`).
        tokenizer: "words" or "subword" (see `Tokenize`); subword_vocab_size for the latter.
        seq_len: window length (BPTT) of language-model batches.
    """

    kind = "text"

    def __init__(
        self,
        is_lm: bool = False,
        vocab: Sequence[str] | None = None,
        min_freq: int = 3,
        max_vocab: int | None = 60_000,
        tokenizer: str | dict[str, Any] = "words",
        subword_vocab_size: int = 8000,
        seq_len: int = 72,
    ) -> None:
        super().__init__()
        if not (isinstance(seq_len, int) and seq_len >= 2):
            raise ValueError(f"seq_len must be an integer of at least 2, got {seq_len!r}")
        self.is_lm, self.vocab = bool(is_lm), None if vocab is None else list(vocab)
        self.min_freq, self.max_vocab, self.seq_len = min_freq, max_vocab, seq_len
        self.tokenizer, self.subword_vocab_size = tokenizer, subword_vocab_size
        Tokenize(tokenizer, subword_vocab_size)  # checks the arguments now

    def type_tfms(self) -> list[Transform]:
        return [
            Tokenize(self.tokenizer, self.subword_vocab_size),
            Numericalize(self.vocab, self.min_freq, self.max_vocab),
        ]

    def collate(self, values: list[Any]) -> torch.Tensor:
        return pad_right(values, PAD_ID)

    def dataloader(self, dataset: ItemDataset, settings: dict[str, Any]) -> Iterable:
        bs, shuffle, device = settings["bs"], settings.get("shuffle", False), settings.get("device")
        if self.is_lm:
            return LanguageModelStream(dataset, bs, self.seq_len, shuffle, device,
                                       settings.get("seed"))  # fmt: skip
        from lamina.data.block_loader import collate_for

        collate = collate_for(settings.get("blocks") or [self])
        seed, drop_last = settings.get("seed"), settings.get("drop_last", False)
        return LengthSortedBatches(
            dataset, collate, settings["bs"], shuffle, device, seed, drop_last
        )

    def self_target(self, type_tfms: Sequence[Transform]) -> TargetInfo | None:
        """A language model's target is the next token: its labels are the vocabulary."""
        if not self.is_lm:
            return None
        vocab = next((tfm.vocab for tfm in type_tfms if isinstance(tfm, Numericalize)), None)
        return TargetInfo(loss_name="cross_entropy_flat", activation="softmax",
                          metric_names=["accuracy", "perplexity"],
                          c=None if vocab is None else len(vocab), vocab=vocab)  # fmt: skip

    def show(self, ax: Axes, value: Any, context: dict[str, Any]) -> str | None:
        text = value if isinstance(value, str) else " ".join(map(str, value))
        ax.text(0, 1, textwrap.fill(text[:600], 60), va="top", ha="left", fontsize=8,
                wrap=True, transform=ax.transAxes)  # fmt: skip
        return None

    def describe(self, value: Any) -> str | None:
        if isinstance(value, list) and value and isinstance(value[0], str):
            shown = " ".join(value[:12])
            return f"{len(value)} tokens: {shown}{' ...' if len(value) > 12 else ''}"
        return None

    def config(self) -> dict[str, Any]:
        return {"is_lm": self.is_lm, "vocab": self.vocab, "min_freq": self.min_freq,
                "max_vocab": self.max_vocab, "tokenizer": self.tokenizer,
                "subword_vocab_size": self.subword_vocab_size, "seq_len": self.seq_len}  # fmt: skip
