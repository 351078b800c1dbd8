"""What an exported text model takes (`lamina export`, `lamina.train.graph_export`).

Token ids (N, T) int64, both sizes free (a Transformer's T up to its `max_len`), for every text
model: language models (AWD-LSTM, Transformer) and classifiers. The traced module starts the
model from a fresh state on every call, as `predict` does, so a stateful model (AWD-LSTM)
carries nothing from one call to the next. Classifiers read the whole padded width when traced
(`lamina.models.awd_lstm`, `text_transformer`), so the written file is also checked on a padded
batch of documents of unequal lengths, of another batch size and length than the example.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from lamina.core.modules import unwrap_model
from lamina.text.learner import reset_state
from lamina.text.loaders import token_vocab
from lamina.train.graph_export import GraphInputs

INPUTS_DOC = (
    "tokens: int64 (N, T) token ids, padded on the right with the pad token, made by the "
    "export's tokenizer and vocabulary (`learn.inference_pipeline()`)"
)

EXAMPLE_LENGTH = 8
# the padded check batch: one row per length, as fractions of its width (a whole row, a short
# one, an empty one: all padding)
CHECK_WIDTH, CHECK_FILLS = 11, (1.0, 0.4, 0.0)


class FreshState(nn.Module):
    """`model` started from a fresh state on every call (a no-op for stateless models)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        reset_state(self.model)
        out = self.model(tokens)
        reset_state(self.model)
        return out


def graph_inputs(learn: Any) -> GraphInputs:
    """Two example documents of eight token ids (a fixed generator, no padding), checked
    again on three padded documents of unequal lengths; the batch size and the length may vary
    (up to a Transformer's `max_len`)."""
    model = unwrap_model(learn.model)
    n_tokens = len(token_vocab(learn.dls))
    encoder = getattr(model, "encoder", model)
    pad = getattr(encoder, "pad_token", None)
    max_len = getattr(encoder, "max_len", None)
    limit = max_len if isinstance(max_len, int) else None  # a Transformer's positions
    generator = torch.Generator().manual_seed(0)
    length = EXAMPLE_LENGTH if limit is None else max(min(EXAMPLE_LENGTH, limit), 2)
    tokens = _text(n_tokens, pad, (2, length), generator)
    width = CHECK_WIDTH if limit is None else min(CHECK_WIDTH, limit)
    padded = _text(n_tokens, pad, (len(CHECK_FILLS), width), generator)
    if pad is not None:
        for row, fill in enumerate(CHECK_FILLS):
            padded[row, round(fill * width) :] = pad
    seq = torch.export.Dim("seq") if limit is None else torch.export.Dim("seq", max=limit)
    device = next(model.parameters()).device
    return GraphInputs(
        ("tokens",), (tokens.to(device),), ({0: torch.export.Dim("batch"), 1: seq},), INPUTS_DOC,
        module=FreshState(model), checks=((padded.to(device),),),
    )  # fmt: skip


def _text(
    n_tokens: int, pad: int | None, shape: tuple[int, int], generator: torch.Generator
) -> torch.Tensor:
    """Random token ids of `shape`, none of them the pad token."""
    tokens = torch.randint(0, n_tokens, shape, generator=generator)
    if pad is not None:
        tokens[tokens == pad] = (pad + 1) % n_tokens
    return tokens
