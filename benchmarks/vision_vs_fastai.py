"""The default vision recipe, lamina against fastai itself: accuracy and wall time.

On ../shared/datasets/mnist (3,000 training and 1,000 test digits, 28x28 grey PNGs, 10 classes;
skipped when absent), each library runs its own three lines with its own defaults:

- lamina: `ImageDataLoaders.from_folder(path, valid="test", item_tfms=Resize(32))`,
  `vision_learner(dls, "resnet18", pretrained=False, metrics=accuracy)`, `fit_one_cycle(3)`;
- fastai: the same three calls through fastai's API (`vision_learner(dls, resnet18,
  pretrained=False, metrics=accuracy)`), run with a Python that has fastai installed
  (`--fastai-python`, e.g. a separate venv: torch 2.14.1 + torchvision 0.29.1 + fastai).

`--aug` adds each library's `aug_transforms()` (flips off: digits) as batch transforms to both.
Each run is a fresh child process (imports are not timed): the clock starts before the loaders are
built and stops after the last epoch; the accuracy is the last epoch's validation accuracy. Runs
alternate lamina, fastai, lamina, fastai ... with seeds 0, 1, 2 ..., so a busy neighbour on the
machine slows both alike. Both use the same torch thread count (`--threads`, default: torch's).
The summary gives each library's accuracies, median wall time and CPU time (the process and its
loader workers, the fairer measure on a machine shared with other jobs), and the ratios of the
medians lamina / fastai (lower is faster). Without `--fastai-python` only lamina runs.

Goal: lamina's accuracy at least fastai's, in at most 0.67x fastai's time.

Measured 2026-12-02 on a quiet machine (2 cores, load average below 1.3), `--threads 1`, seeds
0 and 1, no augmentation; lamina on torch 2.13, fastai 2.8.12 on torch 2.14.1:
- before `SmallMapConv2d` (seed 0 only): lamina 0.949 in 131.2 s (130.0 CPU s), fastai 0.949
  in 142.7 s (158.5 CPU s): 0.92 wall, 0.82 CPU;
- with it (lamina's ResNet convolutions computing one-pixel outputs as matrix products):
  lamina 0.963, 0.963 in a median 74.1 s (73.6 CPU s), fastai 0.949, 0.951 in 143.2 s
  (159.8 CPU s): **0.52 wall, 0.46 CPU**, accuracy 1.3 points above fastai's.
The same two seeds on Fashion-MNIST in the same layout (`--data`; 300 training and 100 test
images per class drawn with numpy's seed 0 from Debian's `dataset-fashion-mnist`, written as
PNGs): lamina 0.819, 0.814 in 47.9 s (47.8 CPU s), fastai 0.783, 0.792 in 91.8 s (104.6 CPU
s): 0.52 wall, 0.46 CPU, accuracy 2.9 points above.
With torch's own thread count (2 here; no `--threads`), mnist, seed 0: lamina 0.962 in 29.7 s
(54.8 CPU s), fastai 0.952 in 65.6 s (128.1 CPU s): 0.45 wall, 0.43 CPU.

Earlier figures, measured before that change (2 CPU cores shared with several other jobs, load
average 4-10, `--threads 1`, seed 0, no augmentation; wall times measure the neighbours, so
CPU seconds are the figure to compare):
- fastai: accuracy 0.949 in 250.7 CPU s (its two loader workers included);
- lamina defaults (LR 1e-2 from scratch, data-stat normalization, ChannelsLast): 0.968 in
  183.9 CPU s, a CPU-time ratio of 0.73;
- lamina at fastai's LR 1e-3: 0.957 in 174.8 CPU s (torch's head init) and 0.957 in 175.2
  CPU s (Kaiming-normal head init, as fastai's): the head's init makes no difference here.
With `--aug` (the two run at the same time, same load): fastai 0.962 in 271.1 CPU s (868 s
wall), lamina 0.966 in 221.6 CPU s (884 s wall): a CPU ratio of 0.82, and about 1.0 in wall
time, since fastai's two loader workers take a larger share of a busy machine while lamina
augments in its one process. One seed each (a run took 10-20 minutes of wall time on that
machine), so these are single draws, not averages.

Run: `python benchmarks/vision_vs_fastai.py --fastai-python /path/to/venv/bin/python
[--seeds 3] [--epochs 3] [--size 32] [--threads N] [--aug]`
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"

# The child programs (each in its own library's Python, so they share text, not a module).
# Each prints one JSON line: {"acc": ..., "seconds": ..., "cpu": ...}.
# What both do after their imports: arguments, threads, seed, and the start of both clocks.
TIMING = """path, seed, epochs, size, threads, aug = sys.argv[1], *map(int, sys.argv[2:7])
if threads:
    torch.set_num_threads(threads)
def cpu():
    return sum(resource.getrusage(who).ru_utime + resource.getrusage(who).ru_stime
               for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
set_seed(seed)
start, start_cpu = time.perf_counter(), cpu()
"""

LAMINA_CHILD = """
import json, resource, sys, time
import torch
from lamina.core.seed import set_seed
from lamina.train.metrics import accuracy
from lamina.vision import ImageDataLoaders, Resize, aug_transforms
from lamina.vision.learner import vision_learner

{timing}dls = ImageDataLoaders.from_folder(path, valid="test", item_tfms=Resize(size), seed=seed,
                                   batch_tfms=aug_transforms(do_flip=False) if aug else None)
learn = vision_learner(dls, "resnet18", pretrained=False, metrics=accuracy)
learn.progress.silent = True
learn.fit_one_cycle(epochs)
seconds, cpu_seconds = time.perf_counter() - start, cpu() - start_cpu
print(json.dumps({"acc": float(learn.recorder.last_values()[-1]), "seconds": seconds,
                  "cpu": cpu_seconds}))
""".replace("{timing}", TIMING)

FASTAI_CHILD = """
import json, resource, sys, time
import torch
from fastai.vision.all import (ImageDataLoaders, Resize, accuracy, aug_transforms, resnet18,
                               set_seed, vision_learner)

{timing}dls = ImageDataLoaders.from_folder(path, valid="test", item_tfms=Resize(size), seed=seed,
                                   batch_tfms=aug_transforms(do_flip=False) if aug else None,
                                   device="cpu")
learn = vision_learner(dls, resnet18, pretrained=False, metrics=accuracy)
with learn.no_bar(), learn.no_logging():
    learn.fit_one_cycle(epochs)
seconds, cpu_seconds = time.perf_counter() - start, cpu() - start_cpu
print(json.dumps({"acc": float(learn.recorder.values[-1][-1]), "seconds": seconds,
                  "cpu": cpu_seconds}))
""".replace("{timing}", TIMING)


def run_child(python: str, program: str, args: list[str], env: dict[str, str]) -> dict:
    """Run one child program; its last output line as JSON."""
    done = subprocess.run(
        [python, "-c", program, *args], capture_output=True, text=True, env=env, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{python} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fastai-python", default=None, help="a Python with fastai installed")
    parser.add_argument("--lamina-python", default=sys.executable)
    parser.add_argument("--seeds", type=int, default=3, help="runs per library (seeds 0..N-1)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's own)")
    parser.add_argument("--aug", action="store_true", help="aug_transforms(do_flip=False)")
    parser.add_argument("--only", choices=["lamina", "fastai"], default=None)
    parser.add_argument("--data", type=Path, default=DATASETS / "mnist", help="the mnist folder")
    args = parser.parse_args()
    path = args.data
    if not path.is_dir():
        print(f"skipping: {path} is absent")
        return
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    sides = {"lamina": (args.lamina_python, LAMINA_CHILD)}
    if args.fastai_python and args.only != "lamina":
        sides["fastai"] = (args.fastai_python, FASTAI_CHILD)
    if args.only == "fastai":
        sides.pop("lamina")
    results: dict[str, list[dict]] = {name: [] for name in sides}
    for seed in range(args.seeds):
        for name, (python, program) in sides.items():
            child_args = [str(path), str(seed), str(args.epochs), str(args.size),
                          str(args.threads), str(int(args.aug))]  # fmt: skip
            result = run_child(python, program, child_args, env)
            results[name].append(result)
            print(f"seed {seed} {name:<6} acc {result['acc']:.4f} in {result['seconds']:.1f}s "
                  f"({result['cpu']:.1f} CPU s)", flush=True)  # fmt: skip
    print(f"\nresnet18 from scratch, {args.size} px, fit_one_cycle({args.epochs}), "
          f"{'aug_transforms(do_flip=False)' if args.aug else 'no augmentation'}")  # fmt: skip
    medians, cpu_medians = {}, {}
    for name, runs in results.items():
        accs = ", ".join(f"{run['acc']:.4f}" for run in runs)
        medians[name] = statistics.median(run["seconds"] for run in runs)
        cpu_medians[name] = statistics.median(run["cpu"] for run in runs)
        print(f"{name:<6} accuracy {accs} (mean {statistics.mean(r['acc'] for r in runs):.4f}); "
              f"median time {medians[name]:.1f}s, {cpu_medians[name]:.1f} CPU s")  # fmt: skip
    if len(medians) == 2:
        print(f"time ratio lamina / fastai: {medians['lamina'] / medians['fastai']:.2f} wall, "
              f"{cpu_medians['lamina'] / cpu_medians['fastai']:.2f} CPU")  # fmt: skip


if __name__ == "__main__":
    main()
