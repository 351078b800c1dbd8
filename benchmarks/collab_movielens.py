"""MovieLens 100K: lamina's collab_learner against a plain matrix-factorization loop in PyTorch.

Data: the ratings read in place from the installed recbole package (`pip install --no-deps
recbole`; never copied), a random 20% validation split (seed 42), batches of 64.

- lamina, the three lines: `CollabDataLoaders.from_df(...)`, `collab_learner(dls, n_factors=50,
  y_range=(0, 5.5))`, `learn.fit_one_cycle(5, 5e-3, wd=0.1)`; goal: validation MSE <= 0.84.
- plain: a dot product with user and item biases and a sigmoid range, written in a few lines of
  PyTorch, trained on the same tensors with AdamW and torch's OneCycleLR (same peak LR, warm-up
  share, divisions and momentum cycle), validating each epoch like lamina does.

Seconds per epoch (training and validation) of both, and their ratio (goal: lamina within 1.1x).
The runs alternate, `--repeats` times; the median epoch is reported, in wall-clock seconds and in
CPU seconds of this process (steadier on a shared machine, with one torch thread). The first
optimizer torch builds in a process imports its compiler (seconds): that one-time cost is paid
before any timing.

Run: `python benchmarks/collab_movielens.py [--threads N] [--repeats R]`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

from lamina import Callback
from lamina.collab import CollabDataLoaders, collab_learner, load_movielens_100k

EPOCHS, LR, WD, BS = 5, 5e-3, 0.1, 64


class EpochClock(Callback):
    """Wall-clock and CPU seconds of each epoch."""

    def __init__(self) -> None:
        self.times: list[tuple[float, float]] = []

    def before_epoch(self) -> None:
        self.start = (time.perf_counter(), time.process_time())

    def after_epoch(self) -> None:
        wall, cpu = self.start
        self.times.append((time.perf_counter() - wall, time.process_time() - cpu))


class PlainMF(nn.Module):
    """rating = sigmoid range of (u . i + b_u + b_i)."""

    def __init__(self, n_users: int, n_items: int, n_factors: int = 50) -> None:
        super().__init__()
        self.u, self.i = nn.Embedding(n_users, n_factors), nn.Embedding(n_items, n_factors)
        self.bu, self.bi = nn.Embedding(n_users, 1), nn.Embedding(n_items, 1)
        for table in (self.u, self.i, self.bu, self.bi):
            nn.init.normal_(table.weight, std=0.01)

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        raw = (self.u(users) * self.i(items)).sum(1) + self.bu(users)[:, 0] + self.bi(items)[:, 0]
        return torch.sigmoid(raw) * 5.5


def plain_run(dls: CollabDataLoaders) -> tuple[float, list[tuple[float, float]]]:
    """Train PlainMF on the same tensors; return (final validation MSE, (wall, CPU) seconds of
    each epoch)."""
    x, y = dls.train.tensors
    x_valid, y_valid = dls.valid.tensors
    model = PlainMF(len(dls.vocab.users), len(dls.vocab.items))
    opt = torch.optim.AdamW(model.parameters(), lr=LR, betas=(0.95, 0.99), eps=1e-5,
                            weight_decay=WD, fused=True)  # fmt: skip
    steps = len(y) // BS
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=LR, total_steps=EPOCHS * steps, pct_start=0.25, div_factor=25,
        final_div_factor=1e5, base_momentum=0.85, max_momentum=0.95, anneal_strategy="cos",
        three_phase=False,
    )  # fmt: skip
    times, mse = [], float("nan")
    for _ in range(EPOCHS):
        start = (time.perf_counter(), time.process_time())
        model.train()
        for idx in torch.randperm(len(y))[: steps * BS].split(BS):
            loss = F.mse_loss(model(x[idx, 0], x[idx, 1]), y[idx])
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
            sched.step()
        model.eval()
        with torch.no_grad():
            total = sum(F.mse_loss(model(xb[:, 0], xb[:, 1]), yb, reduction="sum")
                        for xb, yb in zip(x_valid.split(BS * 2), y_valid.split(BS * 2),
                                          strict=True))  # fmt: skip
        mse = float(total) / len(y_valid)
        times.append((time.perf_counter() - start[0], time.process_time() - start[1]))
    return mse, times


def lamina_run(ratings) -> tuple[float, list[tuple[float, float]]]:
    """The three lines; return (validation MSE, (wall, CPU) seconds of each epoch)."""
    dls = CollabDataLoaders.from_df(ratings, valid_pct=0.2, seed=42, bs=BS, device="cpu")
    learn = collab_learner(dls, n_factors=50, y_range=(0, 5.5))
    learn.progress.silent = True
    clock = EpochClock()
    learn.fit_one_cycle(EPOCHS, LR, wd=WD, cbs=[clock])
    (mse,) = learn.validate()
    return mse, clock.times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        ratings = load_movielens_100k()
    except FileNotFoundError as error:
        print(f"skipped: {error}")
        sys.exit(0)
    torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))])  # one-time import of torch's compiler
    dls = CollabDataLoaders.from_df(ratings, valid_pct=0.2, seed=42, bs=BS, device="cpu")
    print(f"MovieLens 100K from recbole: {len(ratings)} ratings, {dls.train.n} train / "
          f"{dls.valid.n} valid, bs {BS}, {EPOCHS} epochs, torch threads "
          f"{torch.get_num_threads()}")  # fmt: skip
    ours, theirs = [], []
    for repeat in range(args.repeats):
        torch.manual_seed(repeat)
        ours.append(lamina_run(ratings))
        torch.manual_seed(repeat)
        theirs.append(plain_run(dls))
    medians = {}
    for name, runs in (("lamina", ours), ("plain MF loop", theirs)):
        mses = ", ".join(f"{mse:.4f}" for mse, _ in runs)
        epochs = [epoch for _, times in runs for epoch in times]
        medians[name] = [statistics.median(epoch[k] for epoch in epochs) for k in (0, 1)]
        wall, cpu = medians[name]
        print(f"{name:14s} valid MSE {mses} (goal <= 0.84)  {wall:.2f} s/epoch wall, "
              f"{cpu:.2f} s/epoch CPU")  # fmt: skip
    wall_ratio, cpu_ratio = (a / b for a, b in zip(*medians.values(), strict=True))
    print(
        f"lamina / plain seconds per epoch: {wall_ratio:.2f} wall, {cpu_ratio:.2f} CPU "
        "(goal <= 1.1)"
    )


if __name__ == "__main__":
    main()
