"""Training speed of an LSTM cell written in plain Python: a plain loop, lamina, and `nn.LSTM`.

One training step is forward, a loss on the outputs, and backward, at batch 64 and seq 70 with
input size = hidden size, on tokens per second (batch * seq / step time). Variants, interleaved
in every repeat, medians printed:

  (a)  the user's loop: `cell(xs[:, t], state)` for t in range(seq), input projection done once
  (a2) the same loop over `xs.unbind(1)` (indexing `xs[:, t]` costs a full-size gradient per step)
  (b)  `RecurrentLayer(cell, fused_kernels=False)`: lamina's path for a cell of one's own (the
       cell's Python step, weight gradients batched over time)
  (b0) `RecurrentLayer(cell)`: lamina's `LSTMCell` recognised, run by nn.LSTM's fused kernels
  (c)  `nn.LSTM`: PyTorch's fused kernels

Ratios are of step time to nn.LSTM's, so b/c < 1.5 means lamina is within 1.5x of nn.LSTM.
The first call of b (checks the cell, allocates buffers) is timed on its own, with its extra time
over b's median step in brackets.

Each (threads, hidden) pair runs on its own; to keep runs short on a shared machine, run one pair
per process and pick variants, e.g.
    python benchmarks/recurrent_cells.py --threads 2 --hidden 512 --variants b c --repeats 5

Measured 2026-12-02 on a shared 2-core AMD EPYC VM (load average 7-9 from other work, so each
figure is the median of 1-7 interleaved repeats, one process per row); ratios to nn.LSTM:

    threads hidden   a2/c   b/c   b0/c  | tokens/s a2     b      b0      c
       1     128     1.05   0.99  0.97  |        14989  15927  16205  15744
       1     512     1.37   1.14  1.05  |         1273   1523   1664   1739
       1    1152       -    1.03    -   |            -    257      -    266
       2     128     3.31   2.11  2.00  |          439    689    727   1453
       2     512       -    1.48  1.00  |            -    317    469    470
       2    1152       -    3.58    -   |            -     73      -    261

With 2 threads on a loaded machine every variant ran slower than with 1, and b0/c (the same
kernels) read 2.00 at hidden 128: these rows measure contention more than the code. A likely
cause (not measured): each parallel region waits until both threads are scheduled, and a Python
step opens many more regions per time step (one per large op) than the fused kernels. Measure
2 threads on a quiet machine (e.g. `taskset -c 0,1` on a larger one) before drawing conclusions.

Run: python benchmarks/recurrent_cells.py [--threads 1 2] [--hidden 128 512 1152]
     [--variants a a2 b b0 c] [--repeats 5] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import os
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
    layer = RecurrentLayer(cell, fused_kernels=False)
    recognised = RecurrentLayer(cell)
    lstm = nn.LSTM(hidden, hidden, batch_first=True).to(device)

    def unbind_loop(x: torch.Tensor) -> torch.Tensor:
        return run_eager(cell, cell.input_proj(x), cell.init_state(x.shape[0], x.device))[0]

    return {
        "a": (lambda x: indexing_loop(cell, x), cell),
        "a2": (unbind_loop, cell),
        "b": (lambda x: layer(x)[0], cell),
        "b0": (lambda x: recognised(x)[0], cell),
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


def measure(hidden: int, device: str, repeats: int, names: list[str]) -> dict[str, float]:
    """Median step time in seconds of each named variant, runs interleaved."""
    runs = {name: run for name, run in variants(hidden, device).items() if name in names}
    x = torch.randn(BATCH, SEQ, hidden, device=device)
    first_call = float("nan")
    if "b" in runs:
        start = time.perf_counter()
        train_step(*runs["b"], x)
        first_call = time.perf_counter() - start
    for name, (forward, model) in runs.items():  # warm up (b's first call did for b)
        if name != "b":
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
    parser.add_argument("--variants", nargs="+", default=["a", "a2", "b", "b0", "c"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    args = parser.parse_args()
    threads = args.threads if args.device == "cpu" else [torch.get_num_threads()]
    names = [name for name in ("a", "a2", "b", "b0", "c") if name in args.variants]
    print(f"batch {BATCH}, seq {SEQ}, device {args.device}, {args.repeats} repeats, medians")
    ratios = [name for name in names if name != "c"] if "c" in names else []
    print(
        "threads hidden | tokens/s: "
        + " ".join(f"{name:>7}" for name in names)
        + " | "
        + " ".join(f"{name + '/c':>5}" for name in ratios)
        + " | first b (extra) | load"
    )
    for n_threads in threads:
        torch.set_num_threads(n_threads)
        for hidden in args.hidden:
            seconds = measure(hidden, args.device, args.repeats, names)
            rates = " ".join(f"{BATCH * SEQ / seconds[name]:7.0f}" for name in names)
            ratio = " ".join(f"{seconds[name] / seconds['c']:5.2f}" for name in ratios)
            first = seconds["first call of b"]
            extra = first - seconds.get("b", float("nan"))  # the check and first allocations
            load = os.getloadavg()[0]  # a shared machine's other work skews every variant
            print(
                f"{n_threads:7d} {hidden:6d} | {rates:>18} | {ratio} | {first:.2f} s (+{extra:.2f})"
                f" | load {load:.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
