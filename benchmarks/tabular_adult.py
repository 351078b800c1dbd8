"""Adult census income: lamina's default tabular recipe against HistGradientBoosting, one table.

The adult part of `tabular_vs_boosting.py` (same split, recipe and report), with the recipe
before the numeric encoding beside it: train.csv (32,561 rows) trains, test.csv (16,281 rows)
validates; age, fnlwgt, education_num, capital_gain, capital_loss and hours_per_week continuous,
the rest categorical; `tabular_learner(dls, metrics=accuracy).fit_one_cycle(3)` at the default
learning rate, against HistGradientBoostingClassifier(categorical_features="from_dtype") fitted
in the same run. Goal: lamina's median accuracy over the seeds within 1 point of the booster's.
Skipped cleanly when ../shared/datasets/adult is absent.

Run: `python benchmarks/tabular_adult.py [--seeds 3] [--threads 1] [--data ../shared/datasets]`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from tabular_vs_boosting import DATASETS, load_adult, report  # the script's own folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch and scikit-learn threads")
    parser.add_argument("--data", type=Path, default=DATASETS,
                        help="the shared data sets (default ../shared/datasets)")  # fmt: skip
    args = parser.parse_args()
    table = load_adult(args.data)
    if table is None:
        print(f"skipped: {args.data / 'adult'} is absent")
        return
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)
    torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))])  # one-time import of its compiler
    report(table, args.seeds, baseline=True)


if __name__ == "__main__":
    main()
