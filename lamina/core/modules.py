"""Small helpers on `nn.Module`s that every layer uses: unwrapping and a scoped eval mode."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from torch import nn


def unwrap_model(model: nn.Module) -> nn.Module:
    """The user's module inside any `DistributedDataParallel` and `torch.compile` wrappers."""
    while True:
        if isinstance(model, nn.parallel.DistributedDataParallel):
            inner = model.module
        else:
            inner = getattr(model, "_orig_mod", None)
        if not isinstance(inner, nn.Module):
            return model
        model = inner


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Run `model` in eval mode inside the block, then give every submodule its mode back.

    A model already in eval mode is left alone: switching modes walks every submodule, which
    costs about as much as a small model's forward pass.

    Example:
        >>> with eval_mode(model), torch.no_grad():
        ...     out = model(xb)
    """
    if not model.training:
        yield model
        return
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for module, training in modes:
            module.training = training
