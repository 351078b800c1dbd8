"""Training on a GPU with mixed precision: `Learner.fit` against a hand-written AMP loop.

A ResNet-18 (lamina's, 10 classes) on 64x64 images held on the GPU (a synthetic set in which each
class has its own colour pattern under noise, so accuracy means something), batch 256, AdamW at
a constant learning rate, validation loss and accuracy each epoch. lamina runs
`Learner(..., cbs=MixedPrecision(dtype))`; the hand-written loop is the one the PyTorch AMP
recipe gives: `torch.autocast` around the forward pass and loss, a `GradScaler` for float16.
Both start from the same weights and see the same batches; runs are interleaved and the median
time ratio (lamina / hand-written) is printed, with the clocks waiting for the GPU.

Run: `python benchmarks/gpu_training.py [--dtype bf16|fp16] [--epochs N] [--repeats N]`. Needs CUDA.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn
from torch.nn import functional as F

from lamina import DataLoaders, Learner, MixedPrecision
from lamina.models.resnet import resnet18
from lamina.train.metrics import accuracy

N_TRAIN, N_VALID, BS, SIZE, LR = 16_384, 2_048, 256, 64, 1e-3
DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def make_data(device: torch.device) -> DataLoaders:
    generator = torch.Generator().manual_seed(0)
    patterns = torch.rand(10, 3, 8, 8, generator=generator)
    labels = torch.randint(0, 10, (N_TRAIN + N_VALID,), generator=generator)
    images = F.interpolate(patterns[labels], size=SIZE, mode="bilinear")
    images = images + 0.8 * torch.randn(images.shape, generator=generator)
    x, y = images.to(device), labels.to(device)
    return DataLoaders.from_tensors(
        (x[:N_TRAIN], y[:N_TRAIN]), (x[N_TRAIN:], y[N_TRAIN:]), bs=BS, device=device, seed=0
    )


def make_model(device: torch.device) -> nn.Module:
    torch.manual_seed(0)
    return resnet18(num_classes=10).to(device)


def hand_written(dls: DataLoaders, dtype: torch.dtype, epochs: int) -> tuple[float, float]:
    """The AMP loop from PyTorch's recipe, with validation each epoch."""
    device = dls.device
    model = make_model(device)
    opt = torch.optim.AdamW(model.parameters(), lr=LR, betas=(0.9, 0.99), eps=1e-5,
                            weight_decay=0.01, fused=True)  # fmt: skip
    scaler = torch.amp.GradScaler("cuda", enabled=dtype == torch.float16)
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(epochs):
        model.train()
        for xb, yb in dls.train:
            with torch.autocast("cuda", dtype=dtype):
                loss = F.cross_entropy(model(xb), yb)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            opt.zero_grad(set_to_none=True)
        model.eval()
        total_loss, correct, count = 0.0, 0, 0
        with torch.no_grad(), torch.autocast("cuda", dtype=dtype):
            for xb, yb in dls.valid:
                pred = model(xb)
                total_loss = total_loss + F.cross_entropy(pred, yb) * len(yb)
                correct = correct + (pred.argmax(dim=1) == yb).sum()
                count += len(yb)
        float(total_loss / count)  # the epoch's figures are read, as a progress line would
    torch.cuda.synchronize()
    return time.perf_counter() - start, float(correct / count)


def with_lamina(dls: DataLoaders, dtype: torch.dtype, epochs: int) -> tuple[float, float]:
    learn = Learner(dls, make_model(dls.device), loss_func=nn.CrossEntropyLoss(), lr=LR, wd=0.01,
                    metrics=accuracy, cbs=MixedPrecision(dtype))  # fmt: skip
    torch.cuda.synchronize()
    start = time.perf_counter()
    learn.fit(epochs)
    torch.cuda.synchronize()
    return time.perf_counter() - start, learn.recorder.values[-1][2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="bf16")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("gpu_training.py needs a CUDA device")
    dtype, device = DTYPES[args.dtype], torch.device("cuda")
    print(f"{torch.cuda.get_device_name()}, torch {torch.__version__}, autocast {args.dtype}")
    dls = make_data(device)
    hand_written(dls, dtype, 1), with_lamina(dls, dtype, 1)  # warm-up: kernels, allocator
    ratios, hand_times, lamina_times = [], [], []
    for repeat in range(args.repeats):
        order = (hand_written, with_lamina) if repeat % 2 == 0 else (with_lamina, hand_written)
        results = {run.__name__: run(dls, dtype, args.epochs) for run in order}
        hand_times.append(results["hand_written"][0])
        lamina_times.append(results["with_lamina"][0])
        ratios.append(lamina_times[-1] / hand_times[-1])
        print(f"repeat {repeat}: hand {hand_times[-1]:.2f}s  lamina {lamina_times[-1]:.2f}s  "
              f"ratio {ratios[-1]:.3f}  (accuracy hand {results['hand_written'][1]:.3f}, "
              f"lamina {results['with_lamina'][1]:.3f})")  # fmt: skip
    images = args.epochs * N_TRAIN / statistics.median(lamina_times)
    print(f"lamina trains {images:,.0f} images/s (validation included)")
    print(f"GPU time ratio lamina / hand-written (median of {args.repeats}): "
          f"{statistics.median(ratios):.3f}  (goal <= 1.05)")  # fmt: skip


if __name__ == "__main__":
    main()
