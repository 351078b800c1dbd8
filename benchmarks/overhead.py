"""Training-loop overhead: `Learner.fit` against a hand-written PyTorch loop doing the same work.

A tiny MLP (20 -> 64 -> 10) on 20,000 in-memory samples (16,000 train, 4,000 valid), batch 64,
3 epochs, validation loss and accuracy each epoch, lamina's progress display on. Both loops use
the same batches, the same initial weights and the same AdamW settings; runs are interleaved and
the median ratio (lamina time / hand-written time) is printed. Goal: <= 1.10.

Run: python benchmarks/overhead.py [--repeats N]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn
from torch.nn import functional as F

from lamina import DataLoaders, Learner
from lamina.train.metrics import accuracy

N_SAMPLES, N_VALID, BS, EPOCHS = 20_000, 4_000, 64, 3


def make_data() -> DataLoaders:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(N_SAMPLES, 20, generator=generator)
    y = (x[:, :10].argmax(dim=1) + (x[:, 10] > 1).long()) % 10
    n_train = N_SAMPLES - N_VALID
    return DataLoaders.from_tensors((x[:n_train], y[:n_train]), (x[n_train:], y[n_train:]), bs=BS,
                                    device="cpu", seed=0)  # fmt: skip


def make_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 10))


def hand_written(dls: DataLoaders) -> tuple[float, float]:
    """The loop a careful user would write: train, then validate with loss and accuracy."""
    model = make_model()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.99), eps=1e-5,
                            weight_decay=0.01, fused=True)  # fmt: skip
    start = time.perf_counter()
    for epoch in range(EPOCHS):
        model.train()
        for xb, yb in dls.train:
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
        model.eval()
        total_loss, correct, count = 0.0, 0, 0
        with torch.no_grad():
            for xb, yb in dls.valid:
                pred = model(xb)
                total_loss = total_loss + F.cross_entropy(pred, yb) * len(yb)
                correct = correct + (pred.argmax(dim=1) == yb).sum()
                count += len(yb)
        print(f"hand   epoch {epoch}: valid_loss {float(total_loss / count):.4f} "
              f"accuracy {float(correct / count):.4f}")  # fmt: skip
    return time.perf_counter() - start, float(correct / count)


def with_lamina(dls: DataLoaders) -> tuple[float, float]:
    learn = Learner(dls, make_model(), loss_func=nn.CrossEntropyLoss(), metrics=accuracy,
                    wd=0.01)  # fmt: skip
    start = time.perf_counter()
    learn.fit(EPOCHS)
    elapsed = time.perf_counter() - start
    return elapsed, learn.recorder.values[-1][2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    dls = make_data()
    hand_written(dls), with_lamina(dls)  # warm-up: allocator, kernels, imports
    ratios, hand_times, lamina_times = [], [], []
    for repeat in range(args.repeats):
        order = (hand_written, with_lamina) if repeat % 2 == 0 else (with_lamina, hand_written)
        results = {run.__name__: run(dls) for run in order}
        hand_times.append(results["hand_written"][0])
        lamina_times.append(results["with_lamina"][0])
        ratios.append(lamina_times[-1] / hand_times[-1])
        print(f"repeat {repeat}: hand {hand_times[-1]:.3f}s  lamina {lamina_times[-1]:.3f}s  "
              f"ratio {ratios[-1]:.3f}  (accuracy hand {results['hand_written'][1]:.3f}, "
              f"lamina {results['with_lamina'][1]:.3f})")  # fmt: skip
    print(
        f"\nmedian hand-written {statistics.median(hand_times):.3f}s, "
        f"lamina {statistics.median(lamina_times):.3f}s"
    )
    median = statistics.median(ratios)
    print(f"overhead ratio (median of {args.repeats}): {median:.3f}  (goal <= 1.10)")


if __name__ == "__main__":
    main()
