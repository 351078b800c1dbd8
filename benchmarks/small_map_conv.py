"""A ResNet-18 training step on small images: lamina's convolutions against plain `nn.Conv2d`.

lamina's ResNets build their convolutions as `SmallMapConv2d`, which computes a one-pixel
output (layer4 of a 32 px image) as a matrix product over the taps that read the input
(`lamina/models/small_map_conv.py`). The hand-written equivalent is the same model, same
weights, with every convolution an ordinary `nn.Conv2d`. Both train in channels-last (as
`vision_learner` does on the CPU) with fused AdamW on a fixed random batch; each repeat times
`--steps` steps of each, interleaved, and the medians' ratio is printed (lamina / plain, lower
is faster). At 64 px no output is one pixel, so that row measures the route's overhead.

Measured 2026-12-02 on the 2-core AMD EPYC VM (AVX2), quiet (load average below 1), batch 64,
5 repeats of 5 steps, one optimizer per model for the whole run:

    threads  size  plain step  lamina step  ratio
       1     32 px   0.446 s     0.228 s     0.51
       1     64 px   0.915 s     0.915 s     1.00   (no one-pixel output: the route's overhead)
       2     32 px   0.276 s     0.134 s     0.49

(An earlier version built a new AdamW every repeat, on a busier machine: 0.46 and 0.44 at
32 px, 0.98 at 64 px.)

In `benchmarks/vision_vs_fastai.py` (3,000 mnist digits, 3 epochs) this took lamina's run from
131 s to 74 s.

Run: python benchmarks/small_map_conv.py [--threads 1] [--sizes 32 64] [--bs 64] [--repeats 5]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

import torch
from torch import nn

from lamina.models import resnet18
from lamina.models.small_map_conv import SmallMapConv2d


def plain_copy(model: nn.Module) -> nn.Module:
    """The same model and weights with each `SmallMapConv2d` an ordinary `nn.Conv2d`."""
    plain = copy.deepcopy(model)
    for module in plain.modules():
        if isinstance(module, SmallMapConv2d):
            module.__class__ = nn.Conv2d  # same parameters and attributes; only forward differs
    return plain


def step_seconds(
    model: nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor, steps: int
) -> float:
    """Mean seconds of `steps` training steps (forward, cross-entropy, backward, `opt`)."""
    start = time.perf_counter()
    for _ in range(steps):
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad()
    return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 64])
    parser.add_argument("--bs", type=int, default=64)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"resnet18, batch {args.bs}, {args.threads} thread(s), channels-last, "
          f"{args.repeats} repeats of {args.steps} steps")  # fmt: skip
    print("size  plain step  lamina step  ratio")
    for size in args.sizes:
        torch.manual_seed(0)
        lamina = resnet18(num_classes=10).to(memory_format=torch.channels_last)
        plain = plain_copy(lamina)
        x = torch.randn(args.bs, 3, size, size).contiguous(memory_format=torch.channels_last)
        y = torch.randint(0, 10, (args.bs,))
        models = {"plain": plain, "lamina": lamina}
        opts = {name: torch.optim.AdamW(model.parameters(), lr=1e-3, fused=True)
                for name, model in models.items()}  # fmt: skip
        for name, model in models.items():  # warm-up: oneDNN primitives, optimizer state
            step_seconds(model, opts[name], x, y, 2)
        times: dict[str, list[float]] = {"lamina": [], "plain": []}
        for _ in range(args.repeats):
            for name, model in models.items():
                times[name].append(step_seconds(model, opts[name], x, y, args.steps))
        plain_s, lamina_s = (statistics.median(times[k]) for k in ("plain", "lamina"))
        print(f"{size:>3} px  {plain_s:8.3f} s  {lamina_s:9.3f} s  {lamina_s / plain_s:5.2f}",
              flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
