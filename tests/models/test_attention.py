import torch
from torch import nn

from lamina.models.attention import SelfAttention


def test_starts_as_identity_then_mixes_positions():
    layer = SelfAttention(16)
    x = torch.randn(2, 16, 4, 5)
    assert torch.equal(layer(x), x)
    nn.init.ones_(layer.gamma)
    out = layer(x)
    assert out.shape == x.shape
    changed = x.clone()
    changed[..., 0, 0] += 1.0  # one position moves: attention spreads it to the others
    assert not torch.allclose(layer(changed)[..., 3, 4], out[..., 3, 4])
