"""What an exported tabular model takes: example inputs made from the fitted processor."""

from __future__ import annotations

import torch

from lamina.tabular import TabularDataLoaders, load_penguins, tabular_learner
from lamina.tabular.graph_inputs import graph_inputs


def test_example_rows_fit_the_processor_and_the_model() -> None:
    dls = TabularDataLoaders.from_df(load_penguins(), y_names="species", seed=0, device="cpu")
    learn = tabular_learner(dls, layers=[8])
    inputs = graph_inputs(learn)
    x_cat, x_cont = inputs.example
    processor = dls.processor
    assert inputs.names == ("x_cat", "x_cont")
    assert x_cat.dtype == torch.int64
    assert x_cat.shape == (2, len(processor.all_cat_names))
    assert x_cat[1].tolist() == [n - 1 for n in processor.cardinalities]  # the last code of each
    assert x_cont.dtype == torch.float32
    assert x_cont.shape == (2, len(processor.cont_names))
    learn.model.eval()
    assert learn.model(x_cat, x_cont).shape == (2, 3)
    assert inputs.dynamic[0][0] is inputs.dynamic[1][0]  # one batch size for both inputs
