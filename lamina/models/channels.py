"""Change the number of input channels of a model's first conv, keeping its learned kernels."""

from __future__ import annotations

from typing import TypeVar

import torch
from torch import nn

from lamina.models._checks import check_positive_int
from lamina.models.probe import first_conv

M = TypeVar("M", bound=nn.Module)


def adapt_input_channels(model_or_conv: M, n_in: int) -> M:
    """Make the first conv of `model_or_conv` take `n_in` channels; returns the adapted module.

    Pretrained RGB kernels are reused so the model still sees what it learned:

    - `n_in == 1`: the kernels are summed over RGB, so a grey image gives the same output as the
      RGB model on that image repeated over 3 channels;
    - otherwise the kernels are repeated cyclically (R, G, B, R, ...) and scaled by 3 / n_in, so
      an image made of copies of an RGB image gives the same output as the RGB one.

    A conv given directly is replaced by a new one (returned); in a model the first conv is
    swapped in place and the model returned.
    """
    check_positive_int("n_in", n_in)
    if isinstance(model_or_conv, nn.Conv2d):
        return _adapted_conv(model_or_conv, n_in)  # type: ignore[return-value]
    conv = first_conv(model_or_conv)
    if conv is None:
        raise ValueError(f"{type(model_or_conv).__name__} has no Conv2d to adapt")
    if conv.in_channels == n_in:
        return model_or_conv
    name = next(name for name, module in model_or_conv.named_modules() if module is conv)
    parent_name, _, attr = name.rpartition(".")
    parent = model_or_conv.get_submodule(parent_name)
    setattr(parent, attr, _adapted_conv(conv, n_in))
    return model_or_conv


def _adapted_conv(conv: nn.Conv2d, n_in: int) -> nn.Conv2d:
    if conv.groups != 1:
        raise ValueError(f"cannot adapt a grouped conv (groups={conv.groups}) to n_in={n_in}")
    padding = conv.padding if isinstance(conv.padding, str) else _two(conv.padding)
    new = nn.Conv2d(
        n_in, conv.out_channels, _two(conv.kernel_size), _two(conv.stride), padding,
        _two(conv.dilation), bias=conv.bias is not None, padding_mode=conv.padding_mode,
    )  # fmt: skip
    new.to(device=conv.weight.device, dtype=conv.weight.dtype)
    weight = conv.weight.detach()  # (out, c_old, kh, kw)
    with torch.no_grad():
        if n_in == 1:
            new.weight.copy_(weight.sum(dim=1, keepdim=True))
        else:
            index = torch.arange(n_in, device=weight.device) % conv.in_channels
            new.weight.copy_(weight[:, index] * (conv.in_channels / n_in))
        if conv.bias is not None:
            assert new.bias is not None, "built with bias=conv.bias is not None"
            new.bias.copy_(conv.bias.detach())
    return new


def _two(values: tuple[int, ...]) -> tuple[int, int]:
    # A Conv2d stores each size as a pair; torch types the attributes as tuples of any length.
    return values[0], values[1]
