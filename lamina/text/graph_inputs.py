"""What an exported text model takes (`lamina export`, `lamina.train.graph_export`).

Token ids (N, T) int64, both sizes free (a Transformer's T up to its `max_len`). The traced
module starts the model from a fresh state on every call, as `predict` does, so a stateful
model (AWD-LSTM) carries nothing from one call to the next.
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

# What torch 2.13's exporter cannot trace in lamina's text models, for the error it raises.
_LIMITATIONS = {
    "awd_lstm": "torch.export fixes an nn.LSTM's sequence length (pytorch/pytorch#115092), so "
    "AWD-LSTM models cannot take texts of any length",
    "clas": "text classifiers trim each batch to its longest document, a size read from the "
    "data that torch.export cannot trace",
}
EXPORTABLE = "Transformer language models (arch='transformer') export"


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
    """Two example documents of eight token ids (a fixed generator, no padding); the batch
    size and the length may vary."""
    model = unwrap_model(learn.model)
    n_tokens = len(token_vocab(learn.dls))
    encoder = getattr(model, "encoder", model)
    pad = getattr(encoder, "pad_token", None)
    tokens = torch.randint(0, n_tokens, (2, 8), generator=torch.Generator().manual_seed(0))
    if pad is not None:
        tokens[tokens == pad] = (pad + 1) % n_tokens
    max_len = getattr(encoder, "max_len", None)
    seq = (
        torch.export.Dim("seq", max=max_len)
        if isinstance(max_len, int)
        else torch.export.Dim("seq")
    )
    name = str((getattr(learn, "export_spec", None) or {}).get("model_name", ""))
    problems = [text for key, text in _LIMITATIONS.items() if key in name]
    device = next(model.parameters()).device
    return GraphInputs(
        ("tokens",), (tokens.to(device),), ({0: torch.export.Dim("batch"), 1: seq},), INPUTS_DOC,
        module=FreshState(model),
        limitation="; ".join([*problems, EXPORTABLE]) if problems else None,
    )  # fmt: skip
