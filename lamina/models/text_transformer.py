"""A small Transformer encoder for text: a causal language model and a classifier.

Token embedding plus a learned position embedding, pre-norm `nn.TransformerEncoder` layers and
a final LayerNorm. The language model masks attention to earlier positions and ties its output
weights to the token embedding; the classifier attends both ways, ignores padding, and pools
like the AWD-LSTM classifier (`text_head`). Neither carries state between calls (`reset()` is
a no-op kept so that text training code can call it on any text model).

Example:
    >>> model = build_model("transformer_lm", vocab_sz=1000, d_model=128, n_layers=2)
    >>> logits = model(torch.randint(0, 1000, (8, 64)))  # (8, 64, 1000)
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from lamina.core.registry import register
from lamina.models._checks import check_positive_int, check_probability
from lamina.models.text_head import PoolingClassifierHead, move_padding_right


class TextTransformer(nn.Module):
    """Token and position embeddings, then `n_layers` pre-norm Transformer encoder layers.

    Shapes: tokens (batch, seq <= max_len) -> (batch, seq, d_model).

    Args:
        max_len: the most positions the model can read (the position table's size).
        d_ff: the feed-forward layers' width (default 4 * d_model).
        dropout: dropout on the embeddings, the attention and the feed-forward layers.
    """

    def __init__(
        self,
        vocab_sz: int,
        d_model: int = 256,
        n_heads: int = 4,
        n_layers: int = 4,
        d_ff: int | None = None,
        max_len: int = 512,
        dropout: float = 0.1,
        pad_token: int = 1,
    ) -> None:
        super().__init__()
        for name, value in (("vocab_sz", vocab_sz), ("d_model", d_model), ("n_heads", n_heads),
                            ("n_layers", n_layers), ("max_len", max_len)):  # fmt: skip
            check_positive_int(name, value)
        d_ff = 4 * d_model if d_ff is None else d_ff
        check_positive_int("d_ff", d_ff)
        check_probability("dropout", dropout)
        if d_model % n_heads:
            raise ValueError(f"d_model ({d_model}) must be divisible by n_heads, got {n_heads}")
        if not (isinstance(pad_token, int) and 0 <= pad_token < vocab_sz):
            raise ValueError(f"pad_token must be a token id in [0, {vocab_sz}), got {pad_token!r}")
        self.d_model, self.max_len, self.pad_token = d_model, max_len, pad_token
        self.embedding = nn.Embedding(vocab_sz, d_model, padding_idx=pad_token)
        self.positions = nn.Embedding(max_len, d_model)
        self.dropout = nn.Dropout(dropout)
        layer = nn.TransformerEncoderLayer(
            d_model, n_heads, d_ff, dropout, activation="gelu", batch_first=True, norm_first=True
        )
        # nested tensors need post-norm layers; without this torch warns at construction
        self.layers = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        for embedding in (self.embedding, self.positions):
            nn.init.normal_(embedding.weight, std=0.02)
        with torch.no_grad():
            self.embedding.weight[pad_token].zero_()

    def reset(self) -> None:
        """Nothing to forget: the Transformer keeps no state between calls."""

    def forward(
        self,
        tokens: torch.Tensor,
        causal: bool = False,
        padding_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Encode `tokens`; `causal` lets each position see only itself and earlier ones,
        `padding_mask` (batch, seq) is True at positions no one may attend to."""
        if tokens.dim() != 2 or not 0 < tokens.size(1) <= self.max_len:
            raise ValueError(
                f"tokens must be (batch, seq) with 1 <= seq <= max_len={self.max_len}, "
                f"got shape {tuple(tokens.shape)}"
            )
        seq = tokens.size(1)
        positions = torch.arange(seq, device=tokens.device)
        x = self.dropout(self.embedding(tokens) + self.positions(positions))  # (B, T, C)
        mask = None
        if causal:
            mask = nn.Transformer.generate_square_subsequent_mask(seq, device=tokens.device)
        x = self.layers(x, mask=mask, src_key_padding_mask=padding_mask, is_causal=causal)
        return self.norm(x)


class TransformerLanguageModel(nn.Module):
    """A causal `TextTransformer` with an output layer tied to its token embedding.

    Shapes: tokens (batch, seq <= max_len) -> logits (batch, seq, vocab_sz).
    """

    def __init__(self, encoder: TextTransformer, tie_weights: bool = True) -> None:
        super().__init__()
        self.encoder = encoder
        self.decoder = nn.Linear(encoder.d_model, encoder.embedding.num_embeddings)
        nn.init.zeros_(self.decoder.bias)
        if tie_weights:
            self.decoder.weight = encoder.embedding.weight

    def reset(self) -> None:
        """A no-op (no state)."""

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(tokens, causal=True))


class TransformerClassifier(nn.Module):
    """A `TextTransformer` reading each document's last `max_len` tokens, then a pooling head.

    Padding goes on the right; left padding is accepted and moved (see `text_head`). Eager
    calls first trim the batch to its longest document; under `torch.export` the whole padded
    width is read (a traced graph cannot hold a size read from the data) and padding, hidden
    from attention and from pooling, changes nothing.

    Shapes: tokens (batch, seq) padded with `pad_token` -> logits (batch, n_classes).
    """

    def __init__(self, encoder: TextTransformer, head: PoolingClassifierHead) -> None:
        super().__init__()
        self.encoder, self.head = encoder, head

    def reset(self) -> None:
        """A no-op (no state)."""

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        if tokens.dim() != 2 or tokens.size(1) == 0:
            raise ValueError(
                f"tokens must be (batch, seq) with seq >= 1, got {tuple(tokens.shape)}"
            )
        tokens, lengths = move_padding_right(tokens, self.encoder.pad_token)
        # keep each row's last `width` tokens, moved to the front: (B, T')
        if torch.compiler.is_exporting():
            # an exported file's length is declared at most max_len (`lamina.text.graph_inputs`)
            torch._check(tokens.size(1) <= self.encoder.max_len)
            width = tokens.size(1)
        else:  # the longest document's length: one host sync per batch
            width = min(int(lengths.max()), tokens.size(1), self.encoder.max_len)
        offsets = (lengths - width).clamp(min=0)
        index = offsets[:, None] + torch.arange(width, device=tokens.device)  # (B, T')
        tokens = tokens.gather(1, index.clamp(max=tokens.size(1) - 1))
        keep = torch.arange(width, device=tokens.device) < (lengths - offsets)[:, None]
        outputs = self.encoder(tokens, padding_mask=~keep)
        return self.head(outputs, keep)


@register("model", "transformer_lm")
def transformer_lm(
    vocab_sz: int,
    d_model: int = 256,
    n_heads: int = 4,
    n_layers: int = 4,
    d_ff: int | None = None,
    max_len: int = 512,
    dropout: float = 0.1,
    pad_token: int = 1,
    tie_weights: bool = True,
) -> TransformerLanguageModel:
    """A small causal Transformer language model (sizes as in `TextTransformer`)."""
    encoder = TextTransformer(vocab_sz, d_model, n_heads, n_layers, d_ff, max_len, dropout,
                              pad_token)  # fmt: skip
    return TransformerLanguageModel(encoder, tie_weights)


@register("model", "transformer_clas")
def transformer_clas(
    vocab_sz: int,
    n_classes: int,
    d_model: int = 256,
    n_heads: int = 4,
    n_layers: int = 4,
    d_ff: int | None = None,
    max_len: int = 512,
    dropout: float = 0.1,
    pad_token: int = 1,
    output_p: float = 0.4,
    lin_ftrs: Sequence[int] | None = None,
    ps: Sequence[float] | None = None,
) -> TransformerClassifier:
    """A Transformer text classifier: encoder, masked concat pooling, linear layers.

    Args:
        output_p: dropout on the pooled features; lin_ftrs, ps: the head's hidden sizes
            (default [50]) and their dropouts (default 0.1).
    """
    encoder = TextTransformer(vocab_sz, d_model, n_heads, n_layers, d_ff, max_len, dropout,
                              pad_token)  # fmt: skip
    head = PoolingClassifierHead(d_model, n_classes, lin_ftrs, ps, first_p=output_p)
    return TransformerClassifier(encoder, head)


def transformer_lm_split(model: TransformerLanguageModel) -> list[list[nn.Parameter]]:
    """Parameter groups: one per layer, then the embeddings with the final norm and the
    decoder (tied, the decoder's weight is the token embedding), as for AWD-LSTM."""
    encoder = model.encoder
    last: list[nn.Parameter] = []
    for module in (encoder.embedding, encoder.positions, encoder.norm, model.decoder):
        last += [param for param in module.parameters() if all(param is not p for p in last)]
    return [*(list(layer.parameters()) for layer in encoder.layers.layers), last]


def transformer_clas_split(model: TransformerClassifier) -> list[list[nn.Parameter]]:
    """Parameter groups: the embeddings, one per layer, then the final norm with the head."""
    encoder = model.encoder
    embeddings = [*encoder.embedding.parameters(), *encoder.positions.parameters()]
    layers = [list(layer.parameters()) for layer in encoder.layers.layers]
    return [embeddings, *layers, [*encoder.norm.parameters(), *model.head.parameters()]]
