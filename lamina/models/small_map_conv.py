"""`SmallMapConv2d`: a 2-d convolution that computes a one-pixel output as one matrix product.

Late in a CNN fed small images (a ResNet at 32 px ends on 1x1 maps) a convolution's output is a
single pixel. Most of its kernel then reads only the zero padding: a 3x3 conv with padding 1 on
a 1x1 map uses its centre tap alone, and a stride-2 3x3 conv on a 2x2 map uses four of its nine
taps. The one output pixel is a linear function of the input window the live taps cover:
`out = window.flatten(1) @ weight[live taps].flatten(1).T`, the same sum as the convolution,
with no padding and no dead taps. On the CPU, oneDNN's convolution backward is slow on such
shapes (measured on a 2-core AVX2 EPYC at batch 64: 512->512 channels at 1x1 took 105 ms for
forward and backward, the matrix product 11 ms; a ResNet-18 training step at 32 px takes 0.51x
the time, see `benchmarks/small_map_conv.py`), so the CPU takes the matrix-product route;
every other case, CUDA, and tracing, scripting, `torch.compile` and `torch.export` keep the
ordinary convolution.

The module is an `nn.Conv2d` (same parameters, same state-dict names, same initialization), so
published weights load into it and `isinstance(module, nn.Conv2d)` holds.
"""

from __future__ import annotations

import torch
from torch import nn


def live_taps(size: int, kernel: int, stride: int, padding: int) -> tuple[int, int] | None:
    """For one spatial dimension of a convolution with a one-pixel output: the first and last
    kernel taps that read the input rather than the padding (None when every tap reads
    padding). Tap `t` of the single output reads input position `t - padding`."""
    first, last = max(0, padding), min(kernel - 1, padding + size - 1)
    return (first, last) if first <= last else None


def one_pixel_conv2d(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    taps: tuple[tuple[int, int], tuple[int, int]],
    padding: tuple[int, int],
) -> torch.Tensor:
    """The convolution of `x` (B, C, H, W) whose output is one pixel, as a matrix product over
    the live `taps` (rows, columns; from `live_taps`): (B, out_channels, 1, 1)."""
    (top, bottom), (left, right) = taps
    window = x[:, :, top - padding[0] : bottom - padding[0] + 1,
               left - padding[1] : right - padding[1] + 1]  # fmt: skip
    kernel = weight[:, :, top : bottom + 1, left : right + 1]
    flat = window.flatten(1)  # (B, C * kh * kw), channel-major as the kernel
    matrix = kernel.reshape(weight.shape[0], -1).t()  # (C * kh * kw, out_channels)
    # addmm, not `+ bias`: under autocast it keeps the lower precision, as the convolution does
    out = flat @ matrix if bias is None else torch.addmm(bias, flat, matrix)  # (B, out_channels)
    return out.view(x.shape[0], weight.shape[0], 1, 1)


class SmallMapConv2d(nn.Conv2d):
    """An `nn.Conv2d` that, on the CPU, computes a one-pixel output as a matrix product over
    the kernel taps that read the input (module docstring); otherwise the usual convolution.

    Takes `nn.Conv2d`'s arguments. The route applies to batched 4-d inputs of convolutions with
    `groups=1`, `dilation=1`, zero (or no) padding given as numbers.
    """

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        taps = self._one_pixel_taps(input)
        if taps is None:
            return super().forward(input)
        padding = (int(self.padding[0]), int(self.padding[1]))
        return one_pixel_conv2d(input, self.weight, self.bias, taps, padding)

    def _one_pixel_taps(self, x: torch.Tensor) -> tuple[tuple[int, int], tuple[int, int]] | None:
        """The live taps when this call takes the matrix-product route, else None."""
        if (
            x.device.type != "cpu"
            or x.ndim != 4
            or x.shape[1] != self.in_channels  # the convolution's own error names the sizes
            or (x.dtype != self.weight.dtype and not torch.is_autocast_enabled("cpu"))
            or isinstance(self.padding, str)
            or self.groups != 1
            or self.dilation != (1, 1)
            or self.padding_mode != "zeros"
            or _tracing()
        ):
            return None
        rows = _one_pixel_dim(x.shape[2], self.kernel_size[0], self.stride[0], self.padding[0])
        cols = _one_pixel_dim(x.shape[3], self.kernel_size[1], self.stride[1], self.padding[1])
        return None if rows is None or cols is None else (rows, cols)


def _one_pixel_dim(size: int, kernel: int, stride: int, padding: int) -> tuple[int, int] | None:
    """The live taps of a dimension whose output is one position, else None."""
    if (size + 2 * padding - kernel) // stride + 1 != 1:
        return None
    return live_taps(size, kernel, stride, padding)


def _tracing() -> bool:
    """Whether the call is being traced, scripted, compiled or exported (which must record the
    convolution itself, valid for every input size)."""
    return (
        torch.jit.is_scripting()
        or torch.jit.is_tracing()
        or torch.compiler.is_compiling()
        or torch.compiler.is_exporting()
        or torch.onnx.is_in_onnx_export()
    )
