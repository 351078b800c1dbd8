"""Tabular training throughput: lamina's `fit` against a hand-written loop over the same tensors.

Both train the same `TabularModel` (same initial weights) with AdamW on the same whole tensors,
batches drawn by a fresh permutation each epoch, for whole training epochs (no validation):

- lamina: `TabularDataLoaders` + `tabular_learner` + `learn.fit(1)` (all default callbacks on:
  recorder, progress display silenced, NaN guard);
- hand-written: `for idx in randperm(n).split(bs): loss = cross_entropy(model(...)); ...`.

Data: ../shared/datasets/adult/train.csv when present, else a synthetic table of the same shape.
Runs alternate between the two; the median of `--repeats` epochs is reported, in rows per second,
with the ratio lamina / hand-written (goal >= 0.9). The first optimizer torch builds in a process
imports its compiler (seconds): that one-time cost is paid before any timing.

Run: `python benchmarks/tabular_throughput.py [--threads N] [--repeats R]`.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from lamina.data.tensor_batches import TensorBatches
from lamina.tabular import TabularDataLoaders, cont_cat_split, tabular_learner

ADULT = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "adult"


def load_table():
    import pandas as pd

    if (ADULT / "train.csv").is_file():
        return pd.read_csv(ADULT / "train.csv"), "adult train.csv"
    rng = np.random.default_rng(0)
    n = 32_561
    df = pd.DataFrame({f"c{i}": rng.integers(0, 5 + 8 * i, n).astype(str) for i in range(9)})
    for i in range(5):
        df[f"x{i}"] = rng.normal(size=n)
    df["income"] = np.where(df["x0"] + (df["c0"] == "1") > 0.5, ">50K", "<=50K")
    return df, "synthetic table (adult is absent)"


def hand_epoch(model, opt, x_cat, x_cont, y, bs: int) -> float:
    start = time.perf_counter()
    model.train()
    for idx in torch.randperm(len(y)).split(bs):
        if len(idx) < bs:  # lamina drops the last partial batch too (BatchNorm)
            break
        loss = F.cross_entropy(model(x_cat[idx], x_cont[idx]), y[idx])
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    return time.perf_counter() - start


def lamina_epoch(learn) -> float:
    start = time.perf_counter()
    learn.fit(1)
    return time.perf_counter() - start


def run(df, bs: int, repeats: int) -> tuple[float, float]:
    cont, cat = cont_cat_split(df, max_card=20, dep_var="income")
    dls = TabularDataLoaders.from_df(df, y_names="income", cat_names=cat, cont_names=cont,
                                     valid_idx=[0], bs=bs, seed=0, device="cpu")  # fmt: skip
    x_cat, x_cont, y = dls.train.tensors
    train = TensorBatches(x_cat, x_cont, y, bs=bs, shuffle=True, drop_last=True, seed=0)
    dls = TabularDataLoaders(train, None, dls.processor, device="cpu")
    learn = tabular_learner(dls, lr=1e-3)
    learn.progress.silent = True
    model = copy.deepcopy(learn.model)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.99), eps=1e-5,
                            weight_decay=0.01, fused=True)  # fmt: skip
    lamina_epoch(learn)  # warm-up both
    hand_epoch(model, opt, x_cat, x_cont, y, bs)
    ours, theirs = [], []
    for _ in range(repeats):
        ours.append(lamina_epoch(learn))
        theirs.append(hand_epoch(model, opt, x_cat, x_cont, y, bs))
    n_rows = (len(y) // bs) * bs
    return n_rows / statistics.median(ours), n_rows / statistics.median(theirs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))])  # one-time import of torch's compiler
    df, source = load_table()
    print(f"tabular throughput on {source}: {len(df)} rows, torch threads "
          f"{torch.get_num_threads()}, median of {args.repeats} epochs")  # fmt: skip
    for bs in (64, 256, 1024):
        ours, theirs = run(df, bs, args.repeats)
        print(f"bs {bs:5d}: lamina {ours:10,.0f} rows/s  hand-written {theirs:10,.0f} rows/s  "
              f"ratio {ours / theirs:.2f} (goal >= 0.9)")  # fmt: skip


if __name__ == "__main__":
    main()
