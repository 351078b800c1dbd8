"""Adult census income: lamina's three lines against scikit-learn's HistGradientBoostingClassifier.

Same split for both: ../shared/datasets/adult/train.csv (32,561 rows) to train, test.csv (16,281
rows) to validate. Skipped cleanly when the folder is absent.

- lamina: `TabularDataLoaders.from_df(df, y_names="income", cat_names, cont_names,
  valid_idx=<test rows>, bs=256)`, `tabular_learner(dls, metrics=accuracy)`,
  `learn.fit_one_cycle(5, 1e-2)`; columns from `cont_cat_split` with `max_card=20` (the default)
  and `max_card=200` (integer columns with up to 200 values, such as capital gains, become
  categories: the thresholds that matter are then single embeddings);
- HistGradientBoostingClassifier(categorical_features="from_dtype"), default settings.

Reported: validation accuracy (goal: lamina within 1 point of gradient boosting) and training
time of each (lamina's includes preprocessing). `--seeds` repeats lamina with several seeds. The
first optimizer torch builds in a process imports its compiler (seconds): that one-time cost is
paid before any timing.

Run: `python benchmarks/tabular_adult.py [--threads N] [--seeds S]`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

from lamina.tabular import TabularDataLoaders, cont_cat_split, tabular_learner
from lamina.train.metrics import accuracy

ADULT = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "adult"


def lamina_run(df, valid_idx: np.ndarray, max_card: int, seed: int) -> tuple[float, float]:
    """The three lines; return (validation accuracy, seconds)."""
    torch.manual_seed(seed)
    start = time.perf_counter()
    cont_names, cat_names = cont_cat_split(df, max_card=max_card, dep_var="income")
    dls = TabularDataLoaders.from_df(df, y_names="income", cat_names=cat_names,
                                     cont_names=cont_names, valid_idx=valid_idx, bs=256,
                                     seed=seed, device="cpu")  # fmt: skip
    learn = tabular_learner(dls, metrics=accuracy)
    learn.progress.silent = True
    learn.fit_one_cycle(5, 1e-2)
    seconds = time.perf_counter() - start
    return learn.validate()[1], seconds


def boosting_run(df, n_train: int) -> tuple[float, float]:
    """HistGradientBoostingClassifier on the same rows; return (accuracy, seconds)."""
    import pandas as pd
    from sklearn.ensemble import HistGradientBoostingClassifier

    features = df.drop(columns="income")
    for name in features.columns:
        if not pd.api.types.is_numeric_dtype(features[name]):
            features[name] = features[name].astype("category")
    start = time.perf_counter()
    model = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0)
    model.fit(features.iloc[:n_train], df["income"].iloc[:n_train])
    seconds = time.perf_counter() - start
    return model.score(features.iloc[n_train:], df["income"].iloc[n_train:]), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None,
                        help="torch and scikit-learn threads")  # fmt: skip
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    if not (ADULT / "train.csv").is_file():
        print(f"skipped: {ADULT} is absent")
        sys.exit(0)
    import pandas as pd
    from threadpoolctl import threadpool_limits

    if args.threads:
        torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)
    torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))])  # one-time import of torch's compiler
    train, test = pd.read_csv(ADULT / "train.csv"), pd.read_csv(ADULT / "test.csv")
    df = pd.concat([train, test], ignore_index=True)
    valid_idx = np.arange(len(train), len(df))
    print(f"adult: {len(train)} train / {len(test)} valid rows, torch threads "
          f"{torch.get_num_threads()}")  # fmt: skip
    gbm_acc, gbm_seconds = boosting_run(df, len(train))
    print(f"HistGradientBoosting      accuracy {gbm_acc:.4f}  train {gbm_seconds:.1f} s")
    for max_card in (20, 200):
        runs = [lamina_run(df, valid_idx, max_card, seed) for seed in range(args.seeds)]
        accs = [acc for acc, _ in runs]
        mean_acc = statistics.mean(accs)
        seconds = statistics.median(s for _, s in runs)
        print(f"lamina (max_card={max_card:3d})  accuracy {mean_acc:.4f} (seeds: "
              f"{', '.join(f'{a:.4f}' for a in accs)})  train {seconds:.1f} s  gap to boosting "
              f"{100 * (gbm_acc - mean_acc):+.2f} points (goal <= 1)")  # fmt: skip


if __name__ == "__main__":
    main()
