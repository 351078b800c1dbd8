"""TabularModel: the embedding rule, shapes, output range and argument checks."""

from __future__ import annotations

import pytest
import torch

from lamina.tabular import TabularModel, emb_sz_rule


def test_emb_sz_rule_values() -> None:
    assert [emb_sz_rule(n) for n in (2, 10, 100, 10_000, 10**7)] == [2, 6, 21, 278, 600]


def test_shapes_and_y_range() -> None:
    model = TabularModel([(4, 3), (10, 6)], n_cont=2, n_out=1, layers=[8], ps=0.1,
                         y_range=(2.0, 3.0))  # fmt: skip
    x_cat = torch.tensor([[0, 9], [3, 1], [1, 1]])
    out = model(x_cat, torch.randn(3, 2) * 100)
    assert out.shape == (3, 1)
    assert ((out > 2.0) & (out < 3.0)).all()


def test_only_categorical_or_only_continuous_inputs() -> None:
    cats_only = TabularModel([(4, 3)], n_cont=0, n_out=2, layers=[8])
    assert cats_only(torch.tensor([[1], [2]]), torch.zeros(2, 0)).shape == (2, 2)
    conts_only = TabularModel([], n_cont=3, n_out=2, layers=[8])
    assert conts_only(torch.zeros(2, 0, dtype=torch.int64), torch.randn(2, 3)).shape == (2, 2)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"emb_szs": [(0, 3)]}, "emb_szs"),
        ({"emb_szs": [], "n_cont": 0}, "n_cont"),
        ({"n_out": 0}, "n_out"),
        ({"layers": [0]}, "layers"),
        ({"ps": [0.1, 0.2, 0.3]}, "ps"),
        ({"embed_p": 1.0}, "embed_p"),
        ({"y_range": (3, 1)}, "y_range"),
    ],
)
def test_bad_arguments_are_named(kwargs: dict, message: str) -> None:
    arguments = {"emb_szs": [(4, 3)], "n_cont": 1, "n_out": 2, "layers": [8, 4]} | kwargs
    with pytest.raises(ValueError, match=message):
        TabularModel(**arguments)
