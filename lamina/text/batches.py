"""Text batches: a language-model stream cut into windows, and classifier batches by length.

`LanguageModelStream` joins the training documents (reshuffled each epoch) into one token
stream, splits it into `bs` contiguous rows and yields `(x, y)` windows of about `seq_len`
tokens, `y` being `x` shifted by one. The hidden state of a stateful model carries from one
window to the next, since row `i` of a window continues row `i` of the one before. Training
windows vary in length (mostly `seq_len`, sometimes half, plus noise), so the model does not see
the same cuts every epoch.

`LengthSortedBatches` gives classifier batches of documents of similar length to limit padding:
in training, shuffled chunks of `50 * bs` documents are sorted by length and cut into batches,
whose order is then shuffled. Without shuffling (validation, prediction) documents are read in
the data set's order, so `get_preds` lines up with the items.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import torch

from lamina.core.device import default_device, to_device
from lamina.data.item_dataset import ItemDataset

SORT_CHUNK = 50  # batches per sorted chunk in training


def _check(bs: int, seq_len: int) -> None:
    for name, value in (("bs", bs), ("seq_len", seq_len)):
        if not (isinstance(value, int) and value >= 1):
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _documents(dataset: ItemDataset) -> list[torch.Tensor]:
    return [sample[0] for sample in dataset.samples]


class LanguageModelStream:
    """`(x, y)` windows (int64 (bs, ~seq_len)) of the documents of `dataset` as one stream.

    Args:
        dataset: a split whose first element is each document's token ids (L,).
        bs: rows of the stream; seq_len: mean window length (BPTT).
        shuffle: reshuffle the documents each epoch and vary the window lengths (training).
        device: where batches go. seed: fixes the document order and window lengths.
    """

    def __init__(
        self,
        dataset: ItemDataset,
        bs: int = 64,
        seq_len: int = 72,
        shuffle: bool = False,
        device: torch.device | str | None = None,
        seed: int | None = None,
    ) -> None:
        _check(bs, seq_len)
        self.dataset, self.bs, self.seq_len, self.shuffle = dataset, bs, seq_len, shuffle
        self.device = torch.device(device) if device is not None else default_device()
        self.documents = _documents(dataset)
        self.n_tokens = sum(len(doc) for doc in self.documents)
        if self.n_tokens < 2 * bs:
            raise ValueError(
                f"the {len(self.documents)} documents hold {self.n_tokens} tokens, too few for "
                f"{bs} rows of at least 2 tokens: lower bs"
            )
        self.rng = random.Random(seed)
        self._planned: list[int] | None = None  # the next epoch's window lengths, once drawn
        self.order_generator = torch.Generator().manual_seed(
            seed if seed is not None else random.randrange(2**31)
        )

    @property
    def row_length(self) -> int:
        """Tokens in each of the `bs` rows of the stream."""
        return self.n_tokens // self.bs

    def __len__(self) -> int:
        """Windows in the next epoch: exact, as the random lengths are drawn when first asked."""
        return len(self._next_lengths())

    def _next_lengths(self) -> list[int]:
        if self._planned is None:
            self._planned = list(self._window_lengths())
        return self._planned

    def _stream(self) -> torch.Tensor:
        order = list(range(len(self.documents)))
        if self.shuffle:
            order = torch.randperm(len(self.documents), generator=self.order_generator).tolist()
        tokens = torch.cat([self.documents[i] for i in order])
        return tokens[: self.bs * self.row_length].view(self.bs, self.row_length)  # (bs, T)

    def _window_lengths(self) -> Iterator[int]:
        start, end = 0, self.row_length - 1
        while start < end:
            length = self.seq_len
            if self.shuffle:
                mean = self.seq_len if self.rng.random() < 0.95 else self.seq_len / 2
                length = max(5, int(self.rng.gauss(mean, 5)))
            length = min(length, end - start)
            yield length
            start += length

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        rows = self._stream()
        lengths, self._planned = self._next_lengths(), None
        start = 0
        for length in lengths:
            x = rows[:, start : start + length]
            y = rows[:, start + 1 : start + 1 + length]
            start += length
            yield to_device((x, y), self.device)

    def __repr__(self) -> str:
        return (f"LanguageModelStream({len(self.documents)} documents, {self.n_tokens} tokens, "
                f"bs={self.bs}, seq_len={self.seq_len}, shuffle={self.shuffle})")  # fmt: skip


class LengthSortedBatches:
    """Classifier batches of documents of similar length, padded by `collate`.

    Args:
        dataset: a split whose samples are `(ids (L,), target...)`.
        collate: samples -> batch (the blocks' collation, which pads).
        bs: documents per batch; shuffle: training order (see the module docstring).
        device: where batches go. seed: fixes the order. drop_last: drop a final partial batch.
    """

    def __init__(
        self,
        dataset: ItemDataset,
        collate: Callable[[list[tuple]], Any],
        bs: int = 64,
        shuffle: bool = False,
        device: torch.device | str | None = None,
        seed: int | None = None,
        drop_last: bool = False,
    ) -> None:
        _check(bs, 1)
        self.dataset, self.collate, self.bs = dataset, collate, bs
        self.shuffle, self.drop_last = shuffle, drop_last
        self.device = torch.device(device) if device is not None else default_device()
        self.lengths = np.array([len(doc) for doc in _documents(dataset)])
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        n = len(self.lengths)
        return n // self.bs if self.drop_last else math.ceil(n / self.bs)

    def batch_indices(self) -> list[np.ndarray]:
        """This epoch's batches, as arrays of sample indices."""
        if not self.shuffle:
            return self._cut(np.arange(len(self.lengths)))
        order = self.rng.permutation(len(self.lengths))
        chunk = SORT_CHUNK * self.bs
        batches = []
        for start in range(0, len(order), chunk):
            part = order[start : start + chunk]
            batches += self._cut(part[np.argsort(-self.lengths[part], kind="stable")])
        if self.drop_last:
            batches = [batch for batch in batches if len(batch) == self.bs]
        longest = int(np.argmax([self.lengths[b].max() for b in batches]))
        # The longest batch first: memory runs out at once if it will, not hours in.
        rest = [batches[i] for i in self.rng.permutation(len(batches)) if i != longest]
        return [batches[longest], *rest]

    def _cut(self, order: np.ndarray) -> list[np.ndarray]:
        return [order[start : start + self.bs] for start in range(0, len(order), self.bs)]

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        for indices in self.batch_indices():
            batch = self.collate([self.dataset[int(i)] for i in indices])
            yield to_device(tuple(batch), self.device)

    def __repr__(self) -> str:
        return (f"LengthSortedBatches({len(self.lengths)} documents, bs={self.bs}, "
                f"shuffle={self.shuffle})")  # fmt: skip


def pad_right(values: Sequence[torch.Tensor], pad_id: int) -> torch.Tensor:
    """Token-id tensors (L_i,) -> int64 (B, max L_i), padded with `pad_id` at the end."""
    return torch.nn.utils.rnn.pad_sequence(list(values), batch_first=True, padding_value=pad_id)
