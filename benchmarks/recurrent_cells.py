"""Training speed of an LSTM cell written in plain Python: a plain loop, lamina, and `nn.LSTM`.

One training step is forward, a loss on the outputs, and backward, at batch 64 and seq 70 with
input size = hidden size, on tokens per second (batch * seq / step time). Variants, interleaved
in every repeat, medians printed:

  (a)  the user's loop: `cell(xs[:, t], state)` for t in range(seq), input projection done once
  (a2) the same loop over `xs.unbind(1)` (indexing `xs[:, t]` costs a full-size gradient per step)
  (b)  `RecurrentLayer(cell)`: lamina's path
  (c)  `nn.LSTM`: PyTorch's fused kernels

Ratios are of step time to nn.LSTM's, so b/c < 1.5 means lamina is within 1.5x of nn.LSTM.

Run: python benchmarks/recurrent_cells.py [--threads 1 2] [--hidden 128 512 1152]
     [--repeats 5] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
from torch import nn

from lamina.models import LSTMCell, RecurrentLayer
from lamina.models.recurrent import run_eager

BATCH, SEQ = 64, 70


def indexing_loop(cell: LSTMCell, x: torch.Tensor) -> torch.Tensor:
    """The loop most users write first."""
    xs = cell.input_proj(x)
    state = cell.init_state(x.shape[0], x.device)
    outs = []
    for t in range(x.shape[1]):
        out, state = cell(xs[:, t], state)
        outs.append(out)
    return torch.stack(outs, 1)


def variants(hidden: int, device: str) -> dict[str, tuple[Callable, nn.Module]]:
    torch.manual_seed(0)
    cell = LSTMCell(hidden, hidden).to(device)
    layer = RecurrentLayer(cell)
    lstm = nn.LSTM(hidden, hidden, batch_first=True).to(device)

    def unbind_loop(x: torch.Tensor) -> torch.Tensor:
        return run_eager(cell, cell.input_proj(x), cell.init_state(x.shape[0], x.device))[0]

    return {
        "a": (lambda x: indexing_loop(cell, x), cell),
        "a2": (unbind_loop, cell),
        "b": (lambda x: layer(x)[0], cell),
        "c": (lambda x: lstm(x)[0], lstm),
    }


def train_step(forward: Callable, model: nn.Module, x: torch.Tensor) -> None:
    forward(x).square().mean().backward()
    model.zero_grad(set_to_none=True)


def timed(forward: Callable, model: nn.Module, x: torch.Tensor) -> float:
    if x.is_cuda:
        torch.cuda.synchronize()
    start = time.perf_counter()
    train_step(forward, model, x)
    if x.is_cuda:
        torch.cuda.synchronize()
    return time.perf_counter() - start


def measure(hidden: int, device: str, repeats: int) -> dict[str, float]:
    """Median step time in seconds of each variant, runs interleaved."""
    runs = variants(hidden, device)
    x = torch.randn(BATCH, SEQ, hidden, device=device)
    start = time.perf_counter()
    train_step(*runs["b"], x)
    first_call = time.perf_counter() - start
    for forward, model in runs.values():  # warm up
        train_step(forward, model, x)
    times: dict[str, list[float]] = {name: [] for name in runs}
    for repeat in range(repeats):
        names = list(runs)
        names = names[repeat % len(names) :] + names[: repeat % len(names)]  # rotate the order
        for name in names:
            times[name].append(timed(*runs[name], x))
    medians = {name: statistics.median(values) for name, values in times.items()}
    medians["first call of b"] = first_call
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--hidden", type=int, nargs="+", default=[128, 512, 1152])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    args = parser.parse_args()
    threads = args.threads if args.device == "cpu" else [torch.get_num_threads()]
    print(f"batch {BATCH}, seq {SEQ}, device {args.device}, {args.repeats} repeats, medians")
    print("threads hidden |   tokens/s:  a      a2      b       c  |  b/c   a/c  a2/c | first b")
    for n_threads in threads:
        torch.set_num_threads(n_threads)
        for hidden in args.hidden:
            seconds = measure(hidden, args.device, args.repeats)
            rate = {name: BATCH * SEQ / seconds[name] for name in ("a", "a2", "b", "c")}
            print(
                f"{n_threads:7d} {hidden:6d} | {rate['a']:9.0f} {rate['a2']:7.0f} "
                f"{rate['b']:7.0f} {rate['c']:7.0f} | {seconds['b'] / seconds['c']:4.2f} "
                f"{seconds['a'] / seconds['c']:5.2f} {seconds['a2'] / seconds['c']:5.2f}"
                f" | {seconds['first call of b']:.2f} s",
                flush=True,
            )


if __name__ == "__main__":
    main()
