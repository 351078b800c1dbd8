"""What an exported collaborative-filtering model takes (`lamina export`)."""

from __future__ import annotations

from typing import Any

import torch

from lamina.train.graph_export import GraphInputs

INPUTS_DOC = (
    "x: int64 (N, 2) of (user index, item index), the positions of the user and the item in "
    "the export's vocabularies (`learn.dls.vocab.encode`)"
)


def graph_inputs(learn: Any) -> GraphInputs:
    """Two example (user, item) index pairs: the first and the last of each vocabulary; the
    batch size may vary."""
    vocab = learn.dls.vocab
    x = torch.tensor([[0, 0], [len(vocab.users) - 1, len(vocab.items) - 1]], dtype=torch.int64)
    device = next(learn.model.parameters()).device
    return GraphInputs(("x",), (x.to(device),), ({0: torch.export.Dim("batch")},), INPUTS_DOC)
