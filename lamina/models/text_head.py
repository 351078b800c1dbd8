"""What text classifiers share: padding handling and the masked concat-pooling head.

Padding convention: lamina's text classifiers take batches padded on the RIGHT (each document
first, then `pad_token`s), the layout that needs no work. Left-padded (or mixed) batches are
accepted too: `move_padding_right` moves every row's tokens to the front, in order, before the
encoder reads them, so a recurrent state never reads padding before the text and positions
start at 0. A row's text is every token that is not `pad_token`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from lamina.models._checks import check_positive_int, check_probability


def move_padding_right(tokens: torch.Tensor, pad_token: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Each row's non-padding tokens moved to its front (order kept), padding after them.

    Shapes: tokens (batch, seq) -> (tokens (batch, seq), lengths (batch,)). An empty row keeps
    length 1 (its first pad is read as the document) so that pooling has something to read.
    """
    is_pad = tokens == pad_token
    is_text = ~is_pad
    n_text = is_text.sum(dim=1, keepdim=True)  # (B, 1)
    # each token's new position: text in order from 0, then the pads in order after the text
    # (a scatter, which ONNX runs too; a stable sort it cannot)
    dest = torch.where(is_text, is_text.cumsum(dim=1) - 1, n_text + is_pad.cumsum(dim=1) - 1)
    moved = torch.zeros_like(tokens).scatter(1, dest, tokens)
    return moved, n_text.squeeze(1).clamp(min=1)


def masked_concat_pool(outputs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """[last unmasked output, max over time, mean over time] of each row, padding ignored.

    `mask` is True at the positions to read; it may be on either side or both (the last
    output is taken at each row's last True position). Every row needs at least one True.

    Shapes: outputs (batch, seq, features), mask (batch, seq) -> (batch, 3 * features).
    """
    if mask.shape != outputs.shape[:2]:
        raise ValueError(
            f"mask must have shape (batch, seq) = {tuple(outputs.shape[:2])}, "
            f"got {tuple(mask.shape)}"
        )
    seq = outputs.size(1)
    last_index = seq - 1 - mask.flip(1).to(torch.uint8).argmax(dim=1)  # (B,)
    batch = torch.arange(outputs.size(0), device=outputs.device)
    last = outputs[batch, last_index]  # (B, C)
    keep = mask.unsqueeze(-1)  # (B, T, 1)
    lowest = torch.finfo(outputs.dtype).min
    max_pool = outputs.masked_fill(~keep, lowest).amax(dim=1)
    count = keep.sum(dim=1).clamp(min=1).to(outputs.dtype)
    mean_pool = outputs.masked_fill(~keep, 0).sum(dim=1) / count
    return torch.cat([last, max_pool, mean_pool], dim=1)


class PoolingClassifierHead(nn.Module):
    """Masked concat pooling, then [BatchNorm, Dropout, Linear] blocks with ReLU between them.

    Shapes: outputs (batch, seq, n_features), mask (batch, seq) -> logits (batch, n_classes).

    Args:
        n_features: the encoder's output features (pooling triples them).
        lin_ftrs: sizes of the hidden linear layers (default [50]).
        ps: dropout before each hidden layer (default 0.1 each); the first block (on the
            pooled features) uses `first_p`.
        first_p: dropout on the pooled features.
    """

    def __init__(
        self,
        n_features: int,
        n_classes: int,
        lin_ftrs: Sequence[int] | None = None,
        ps: Sequence[float] | None = None,
        first_p: float = 0.4,
    ) -> None:
        super().__init__()
        check_positive_int("n_features", n_features)
        check_positive_int("n_classes", n_classes)
        lin_ftrs = [50] if lin_ftrs is None else list(lin_ftrs)
        ps = [0.1] * len(lin_ftrs) if ps is None else list(ps)
        if len(ps) != len(lin_ftrs):
            raise ValueError(
                f"ps must give one dropout per entry of lin_ftrs ({len(lin_ftrs)}), got {ps!r}"
            )
        for size in lin_ftrs:
            check_positive_int("lin_ftrs entries", size)
        sizes = [3 * n_features, *lin_ftrs, n_classes]
        layers: list[nn.Module] = []
        for index, (p, n_in, n_out) in enumerate(
            zip([first_p, *ps], sizes[:-1], sizes[1:], strict=True)
        ):
            check_probability("ps entries" if index else "first_p", p)
            layers += [nn.BatchNorm1d(n_in), nn.Dropout(p), nn.Linear(n_in, n_out)]
            if index < len(lin_ftrs):
                layers.append(nn.ReLU(inplace=True))
        self.layers = nn.Sequential(*layers)

    def forward(self, outputs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.layers(masked_concat_pool(outputs, mask))
