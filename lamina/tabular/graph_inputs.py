"""What an exported tabular model takes (`lamina export`, `lamina.train.graph_export`)."""

from __future__ import annotations

from typing import Any

import torch

from lamina.train.graph_export import GraphInputs

INPUTS_DOC = (
    "x_cat: int64 (N, n_cat) category codes and x_cont: float32 (N, n_cont) standardized "
    "numbers, encoded by the fitted processor (`TabularProcessor.encode_inputs`)"
)


def graph_inputs(learn: Any) -> GraphInputs:
    """Two example rows of a tabular learner's model inputs, made from its processor (so a
    loaded learner, which has no table, exports too): every category's first code and
    numbers drawn from a fixed generator; the batch size may vary."""
    processor = learn.dls.processor
    sizes = processor.cardinalities
    n_cont = len(processor.cont_names)
    x_cat = torch.stack([torch.zeros(len(sizes), dtype=torch.int64),
                         torch.tensor([n - 1 for n in sizes], dtype=torch.int64)])  # fmt: skip
    x_cont = torch.randn(2, n_cont, generator=torch.Generator().manual_seed(0))
    device = next(learn.model.parameters()).device
    batch = torch.export.Dim("batch")
    return GraphInputs(("x_cat", "x_cont"), (x_cat.to(device), x_cont.to(device)),
                       ({0: batch}, {0: batch}), INPUTS_DOC)  # fmt: skip
