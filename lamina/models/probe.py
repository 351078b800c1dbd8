"""Look inside a model by running a dummy input through it: channels, sizes, feature counts."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import nn

from lamina.core.modules import eval_mode


def first_conv(model: nn.Module) -> nn.Conv2d | None:
    """The first `nn.Conv2d` in `model.modules()` order (the input conv for usual CNNs)."""
    return next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)


def input_channels(model: nn.Module, default: int | None = None) -> int:
    """The input channels of `model`'s first conv, else `default`; a `ValueError` if neither."""
    conv = first_conv(model)
    if conv is not None:
        return conv.in_channels
    if default is None:
        raise ValueError(f"{type(model).__name__} has no Conv2d to read its input channels from")
    return default


@contextmanager
def evaluating(model: nn.Module) -> Iterator[nn.Module]:
    """Put every submodule in eval mode under `no_grad`, restoring each one's mode on exit.

    A dummy forward must neither update BatchNorm statistics nor fail on a batch of one.
    """
    with eval_mode(model), torch.no_grad():
        yield model


def dummy_input(model: nn.Module, size: Sequence[int], n_in: int | None = None) -> torch.Tensor:
    """A zero image batch (1, n_in, *size) on `model`'s device; n_in read from its first conv."""
    channels = input_channels(model, n_in) if n_in is None else n_in
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    return torch.zeros(1, channels, *size, device=device)


def child_output_shapes(body: nn.Sequential, x: torch.Tensor) -> list[torch.Size]:
    """The output shape of each child of `body` when `x` runs through it (in eval mode).

    Forward hooks record the shapes and are removed before returning, even on error.
    """
    shapes: list[torch.Size] = []
    handles = [
        child.register_forward_hook(lambda _m, _i, out: shapes.append(out.shape))
        for child in body.children()
    ]
    try:
        with evaluating(body):
            body(x)
    finally:
        for handle in handles:
            handle.remove()
    return shapes


def num_features(body: nn.Module, n_in: int | None = None, size: Sequence[int] = (64, 64)) -> int:
    """The channels of `body`'s output: (1, n_in, *size) -> (1, C, h, w) gives C."""
    with evaluating(body):
        out = body(dummy_input(body, size, n_in))
    return int(out.shape[1])
