import pytest
import torch

from lamina.models.layers import ConvNormAct
from lamina.models.simple_cnn import simple_cnn


def test_forward_shape_and_strided_blocks():
    model = simple_cnn((1, 8, 16), num_classes=5)
    convs = [m for m in model if isinstance(m, ConvNormAct)]
    assert [(c.conv.in_channels, c.conv.out_channels, c.conv.stride) for c in convs] == [
        (1, 8, (2, 2)),
        (8, 16, (2, 2)),
    ]
    assert model(torch.randn(2, 1, 28, 28)).shape == (2, 5)


def test_in_chans_overrides_first_channel_count():
    model = simple_cnn(num_classes=3, in_chans=4)
    assert model(torch.randn(2, 4, 16, 16)).shape == (2, 3)


@pytest.mark.parametrize(("kwargs", "name"), [({"channels": (3,)}, "channels"),
                                              ({"channels": (3, 0)}, "channels"),
                                              ({"num_classes": 0}, "num_classes")])  # fmt: skip
def test_rejects_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        simple_cnn(**kwargs)
