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

Measured 2026-12-02 on the 2-core AMD EPYC VM, quiet (load average below 1, one process per
row, 3-7 interleaved repeats); ratios of step time to nn.LSTM's:

    threads hidden   a2/c   b/c   b0/c  | tokens/s a2     b      b0      c
       1     128     0.94   0.96  1.00  |        60638  59411  57195  57003
       1     512     0.95   0.90  0.97  |         5835   6142   5665   5522
       2     128     1.52   1.47  0.99  |        49110  50805  75305  74606
       2     512     1.12   1.03  0.98  |         5186   5625   5911   5792

A second 2-thread run at hidden 128 read b/c 1.59 (5 repeats): that row sits at the 1.5x goal.
There nn.LSTM gains 30% from the second thread and the Python step none (its per-step ops are
too small to split; b runs the plain loop below `MIN_BATCHED_WEIGHTS`). Under load (average
7-9, earlier the same day) 2-thread rows read 2-3.6x for every variant, b0 included, so they
measure contention, not the code. Hidden 1152 at 1 thread: b/c 1.03 (257 vs 266 tokens/s).
Re-measured in the evening, quiet (load average 0.3-0.7), one process per line: 2 threads,
hidden 128, b/c 1.45, 1.20, 1.31 and 1.21 (four processes of 5 repeats); 2 threads, hidden 512,
1.19; 1 thread, 1.05 at 128 and 1.03 at 512 (3 repeats each).

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
