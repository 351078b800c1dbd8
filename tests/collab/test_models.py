"""EmbeddingDotBias and EmbeddingNN: shapes, the computation, the output range."""

from __future__ import annotations

import pytest
import torch

from lamina.collab import EmbeddingDotBias, EmbeddingNN


def test_dot_bias_computes_dot_plus_biases() -> None:
    model = EmbeddingDotBias(3, 4, n_factors=2, y_range=None)
    with torch.no_grad():
        model.user_weight.weight.copy_(torch.tensor([[1.0, 2.0], [0.0, 1.0], [3.0, 0.0]]))
        model.item_weight.weight.copy_(torch.tensor([[1.0, 1.0], [2.0, 0.5], [0, 0], [1, 0]]))
        model.user_bias.weight.fill_(0.5)
        model.item_bias.weight.fill_(-1.0)
    out = model(torch.tensor([[0, 0], [1, 1], [2, 3]]))
    assert out.tolist() == [2.5, -0.0, 2.5]
    squashed = EmbeddingDotBias(3, 4, n_factors=2, y_range=(0, 5.5))
    assert squashed(torch.tensor([[0, 0]])).item() == pytest.approx(2.75, abs=0.01)


def test_nn_output_shape_and_range() -> None:
    model = EmbeddingNN(5, 7, user_sz=3, item_sz=4, layers=[8, 4], ps=0.1, y_range=(1, 5))
    out = model(torch.tensor([[0, 6], [4, 0], [2, 2]]))
    assert out.shape == (3,)
    assert ((out > 1) & (out < 5)).all()


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: EmbeddingDotBias(0, 3), "n_users"),
        (lambda: EmbeddingDotBias(3, 3, n_factors=0), "n_factors"),
        (lambda: EmbeddingDotBias(3, 3, y_range=(5, 1)), "y_range"),
        (lambda: EmbeddingNN(3, 3, 2, 2, layers=[]), "layers"),
        (lambda: EmbeddingNN(3, 3, 2, 2, ps=1.5), "ps"),
    ],
)
def test_bad_arguments_are_named(build, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()
