"""Image pipeline throughput: lamina's DataBlock loaders against a hand-written torch pipeline.

Generates two folders of photo-like JPEGs in 10 classes (smooth gradients plus noise, so file
sizes are realistic): photo-sized (2,000 at 500x375) and small (5,000 at 160x120). For each,
one full training epoch of batches of 64 at 64x64 is timed:

- lamina: `ImageDataLoaders.from_folder(item_tfms=Resize(64), batch_tfms=aug_transforms())`,
- hand-written: a torch Dataset that opens, converts to RGB, resizes to 64x64, flips at random and
  makes a tensor, with torch's DataLoader and default collate,

at num_workers 0 and 2, runs interleaved, fresh loaders each run (worker start-up included),
median of 3. Also: the share of lamina's time spent in the batch transforms (goal < 10%) and in
the item transforms, and images/s on ../shared/datasets/hymenoptera when present.

`DataBlock.dataloaders(fuse_augment="auto")` (off by default) folds the random flip, rotation,
zoom and warp of `aug_transforms` into the item resize on the CPU (`ItemAffineResize`), leaving
the uint8-to-float step and the lighting as batch transforms; the shares are printed with that
folding and without it (the default, which the throughput table measures). The batch
transforms run in the main process at num_workers=0, and inside the workers (after collation)
when num_workers > 0.

With `--device cuda` both pipelines deliver their batches to the GPU (the hand-written one
copies them there; lamina runs its batch transforms there, in the main process), and the clocks
wait for the GPU before reading the time.

Run: `python benchmarks/data_throughput.py [--quick] [--threads N] [--device D] [--workers ...]`
(quick: fewer images, 1 run; threads: torch's intra-op threads in the main process, for both
pipelines; device: cpu (default) or cuda).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from lamina.data.transform import Pipeline, Transform
from lamina.vision import ImageDataLoaders, Resize, aug_transforms

HYMENOPTERA = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "hymenoptera"
SIZE, BS = 64, 64
DEVICE = torch.device("cpu")


def synchronize() -> None:
    if DEVICE.type == "cuda":
        torch.cuda.synchronize(DEVICE)


# ----------------------------------------------------------------------------- data
def make_images(root: Path, n: int, width: int, height: int, seed: int) -> Path:
    """`n` photo-like JPEGs in 10 class folders under `root`."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    for index in range(n):
        folder = root / f"class_{index % 10}"
        folder.mkdir(parents=True, exist_ok=True)
        angle, phase = rng.uniform(0, np.pi, 2)
        colours = rng.uniform(0, 255, (2, 3)).astype(np.float32)
        wave = np.sin((xs * np.cos(angle) + ys * np.sin(angle)) / rng.uniform(20, 80) + phase)
        blend = ((wave + 1) / 2)[..., None]  # (H, W, 1)
        pixels = blend * colours[0] + (1 - blend) * colours[1]
        pixels += rng.normal(0, 12, pixels.shape).astype(np.float32)
        image = Image.fromarray(pixels.clip(0, 255).astype(np.uint8))
        image.save(folder / f"{index}.jpg", quality=90)
    return root


# ----------------------------------------------------------------------------- pipelines
class HandDataset(torch.utils.data.Dataset):
    """The baseline: open, RGB, resize to 64x64, random horizontal flip, to tensor."""

    def __init__(self, files: list[Path], labels: list[int]) -> None:
        self.files, self.labels = files, labels

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        from PIL import Image

        with Image.open(self.files[index]) as img:
            img = img.convert("RGB").resize((SIZE, SIZE), Image.BILINEAR)
        if random.random() < 0.5:
            img = img.transpose(Image.FLIP_LEFT_RIGHT)
        array = np.asarray(img)
        return torch.from_numpy(array.transpose(2, 0, 1).copy()), self.labels[index]


def lamina_loaders(path: Path, num_workers: int, seed: int, **kwargs: object):
    return ImageDataLoaders.from_folder(
        path,
        valid_pct=0.2,
        seed=seed,
        item_tfms=Resize(SIZE),
        batch_tfms=aug_transforms(),
        bs=BS,
        num_workers=num_workers,
        device=DEVICE,
        **kwargs,
    )


def hand_loader(files: list[Path], labels: list[int], num_workers: int):
    loader = torch.utils.data.DataLoader(
        HandDataset(files, labels), batch_size=BS, shuffle=True, num_workers=num_workers,
        pin_memory=DEVICE.type == "cuda",
    )  # fmt: skip
    if DEVICE.type == "cpu":
        return loader
    return ((xb.to(DEVICE, non_blocking=True), yb.to(DEVICE)) for xb, yb in loader)


def timed_epoch(loader) -> tuple[float, int]:
    synchronize()
    start, n = time.perf_counter(), 0
    for xb, _ in loader:
        n += len(xb)
    synchronize()
    return time.perf_counter() - start, n


class TimedPipeline(Pipeline):
    """A pipeline that adds up the time its calls take."""

    seconds = 0.0

    def __call__(self, sample: tuple, kinds: tuple, split_idx: int | None = None) -> tuple:
        synchronize()
        start = time.perf_counter()
        out = super().__call__(sample, kinds, split_idx)
        synchronize()
        self.seconds += time.perf_counter() - start
        return out


class TimedTransform(Transform):
    """A transform that adds the time its calls take to `clock.seconds`."""

    def __init__(self, tfm: Transform, clock: TimedPipeline) -> None:
        self.tfm, self.clock, self.order = tfm, clock, tfm.order

    def __call__(self, sample: tuple, kinds: tuple, split_idx: int | None = None) -> tuple:
        start = time.perf_counter()
        out = self.tfm(sample, kinds, split_idx)
        self.clock.seconds += time.perf_counter() - start
        return out


# ----------------------------------------------------------------------------- runs
def compare(path: Path, label: str, runs: int, workers: tuple[int, ...]) -> list[str]:
    template = lamina_loaders(path, 0, seed=0)
    files = [Path(name) for name in template.train.dataset.names]
    labels = [int(sample[1]) for sample in template.train.dataset.samples]
    rows = []
    for num_workers in workers:
        ours, theirs = [], []
        for run in range(runs):  # interleaved, so drift on a shared machine hits both alike
            seconds, n = timed_epoch(lamina_loaders(path, num_workers, seed=run).train)
            ours.append(n / seconds)
            seconds, n = timed_epoch(hand_loader(files, labels, num_workers))
            theirs.append(n / seconds)
        mine, base = statistics.median(ours), statistics.median(theirs)
        rows.append(
            f"| {label:<22} | {num_workers:>7} | {mine:>10.0f} | {base:>12.0f} | "
            f"{mine / base:>5.2f}x |"
        )
    return rows


def stage_shares(path: Path, **kwargs: object) -> tuple[float, float]:
    """Shares of one in-process epoch spent in the item transforms and in the batch transforms.

    The item share is the transforms only (resize, or resize with the folded-in warp, and
    ToTensor), not decoding.
    """
    dls = lamina_loaders(path, 0, seed=0, **kwargs)
    train = dls.train.new(batch_tfms=TimedPipeline(dls.train.batch_tfms.tfms))
    items = TimedPipeline()  # the data set calls its item transforms one by one
    train.dataset.item_tfms = Pipeline([TimedTransform(t, items) for t in dls.item_tfms.tfms])
    seconds, _ = timed_epoch(train)
    return items.seconds / seconds, train.batch_tfms.seconds / seconds


def hymenoptera(workers: tuple[int, ...]) -> list[str]:
    lines = []
    for num_workers in workers:
        dls = ImageDataLoaders.from_folder(
            HYMENOPTERA, valid="val", item_tfms=Resize(SIZE), batch_tfms=aug_transforms(),
            bs=BS, num_workers=num_workers, device=DEVICE, seed=0,
        )  # fmt: skip
        seconds, n = timed_epoch(dls.train)
        lines.append(f"hymenoptera (train, {n} photos), num_workers={num_workers}: "
                     f"{n / seconds:.0f} images/s")  # fmt: skip
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer images and one run")
    parser.add_argument("--threads", type=int, default=None, help="torch threads in this process")
    parser.add_argument("--device", default="cpu", help="where batches go: cpu or cuda")
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2], help="num_workers")
    args = parser.parse_args()
    global DEVICE
    DEVICE = torch.device(args.device)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    print(f"torch threads in the main process: {torch.get_num_threads()}; device: {DEVICE}")
    n_photo, n_small, runs = (400, 1000, 1) if args.quick else (2000, 5000, 3)
    workers = tuple(args.workers)
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        photo = make_images(Path(folder, "photo"), n_photo, 500, 375, seed=0)
        small = make_images(Path(folder, "small"), n_small, 160, 120, seed=1)
        print(f"generated {n_photo} + {n_small} JPEGs in {time.perf_counter() - start:.0f}s")
        print("| images                 | workers | lamina i/s | hand-written | ratio |")
        print("|------------------------|---------|------------|--------------|-------|")
        for row in compare(photo, f"{n_photo} at 500x375", runs, workers):
            print(row)
        for row in compare(small, f"{n_small} at 160x120", runs, workers):
            print(row)
        print("share of an epoch at num_workers=0: item transforms | batch transforms")
        for name, path in (("photo-sized", photo), ("small", small)):
            for fuse in ("auto", False):
                item, batch = stage_shares(path, fuse_augment=fuse)
                how = "warp in the item resize" if fuse else "warp on batches (default)"
                print(f"  {name:<11} {how:<26}: {item:6.1%} | {batch:6.1%}")
    if HYMENOPTERA.is_dir():
        for line in hymenoptera(workers):
            print(line)
    else:
        print(f"{HYMENOPTERA} is absent: skipping the real-photo figure")


if __name__ == "__main__":
    main()
