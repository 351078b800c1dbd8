"""`ChannelsLast`: train convolutions in the channels-last memory format, only during a fit."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from lamina.train.callback import Callback

_CHANNELS_LAST = torch.channels_last
_CONTIGUOUS = torch.contiguous_format


def has_conv2d(model: nn.Module) -> bool:
    """Whether `model` holds a 2-d convolution (a model channels-last can speed up)."""
    return any(isinstance(module, nn.Conv2d) for module in model.modules())


def _convert_state(opt: torch.optim.Optimizer | None, memory_format: torch.memory_format) -> None:
    """Give the optimizer's per-parameter 4-d state (Adam's moments...) `memory_format`, so it
    matches the parameters it steps and is saved contiguous after the fit."""
    if opt is None:
        return
    for param, state in opt.state.items():
        for key, value in state.items():
            if isinstance(value, torch.Tensor) and value.ndim == 4 and value.shape == param.shape:
                state[key] = value.contiguous(memory_format=memory_format)


def _convert_model(model: nn.Module, memory_format: torch.memory_format) -> None:
    # `Module.to` converts the 4-d parameters (and their gradients) and buffers in place,
    # keeping each Parameter object; torch's stubs omit its `memory_format` keyword.
    model.to(memory_format=memory_format)  # type: ignore[call-overload]


def _to_channels_last(value: Any) -> Any:
    if isinstance(value, torch.Tensor) and value.ndim == 4 and value.is_floating_point():
        return value.contiguous(memory_format=_CHANNELS_LAST)
    return value


class ChannelsLast(Callback):
    """Runs the model (and 4-d float inputs) in `torch.channels_last` memory format while it
    fits, and gives it back in the ordinary contiguous format afterwards.

    Channels-last (NHWC) lets convolution kernels read each pixel's channels together; on CPUs a
    ResNet-18 training step runs about 14% faster. The conversion happens at `before_fit` and is
    undone at `after_fit` and when a fit ends in an error or Ctrl-C (`after_interrupt`), so
    outside a fit `learn.model.state_dict()` holds contiguous tensors, as
    `safetensors.torch.save_file` and other writers need. Parameters keep their identity (their
    data is converted in place), so the optimizer and any references to them stay valid.

    A callback of your own that saves the raw `state_dict()` of the model *during* a fit sees
    channels-last tensors: call `.contiguous()` on them first (lamina's own checkpoints do).
    Models wrapped for DDP are left alone.

    Args:
        inputs: convert 4-d float inputs to channels-last too (convolutions follow the format
            of their weights either way; converting the inputs once spares each first conv a
            conversion).
    """

    order = 90  # after_fit after the trackers (70, 80) have reloaded their best weights

    def __init__(self, inputs: bool = True) -> None:
        self.inputs = bool(inputs)
        self.active = False

    def _convertible(self) -> bool:
        return not isinstance(self.model, nn.parallel.DistributedDataParallel)

    def before_fit(self) -> None:
        if self.active or not self._convertible():
            return
        _convert_model(self.model, _CHANNELS_LAST)
        _convert_state(self.learn.opt, _CHANNELS_LAST)
        self.active = True

    def before_batch(self) -> None:
        if self.active and self.inputs:
            self.learn.xb = tuple(_to_channels_last(x) for x in self.xb)

    def after_fit(self) -> None:
        self._restore()

    def after_interrupt(self) -> None:
        self._restore()

    def _restore(self) -> None:
        if not self.active:
            return
        self.active = False
        _convert_model(self.model, _CONTIGUOUS)
        _convert_state(self.learn.opt, _CONTIGUOUS)
