"""Vision recipe: lamina's defaults against a hand-written PyTorch loop given the same wall time.

On the real image sets in ../shared/datasets (skipped when absent):
- mnist: 3,000 training and 1,000 test digits, 28x28 grey PNGs, 10 classes;
- hymenoptera: 245 training and 153 validation photos of ants and bees, of varying size.

(a) lamina, three lines: `ImageDataLoaders.from_folder(path, valid=..., item_tfms=Resize(size),
    batch_tfms=aug_transforms())`, `vision_learner(dls, "resnet18", pretrained=False,
    metrics=accuracy)`, `learn.fit_one_cycle(E)` with its default learning rate. The wall time
    from building the loaders to the end of training is measured; the accuracy is the last
    epoch's validation accuracy.
(b) a hand-written loop: a torch Dataset reading each file with Pillow (RGB, centre crop and
    resize to the same size, no augmentation), torch's DataLoader at the same batch size, the
    same architecture (`create_vision_model("resnet18", n_out)`) trained with plain Adam at a
    constant LR 1e-3, until the wall time of (a) is used up (checked after each batch, loader
    and model set-up included); then its accuracy on the same validation images.

Both run in this process one after the other, seeded, on the CPU. Goal: lamina's accuracy is
higher in the same time. On a machine shared with other jobs, wall time measures the neighbours
as much as the code: `--clock cpu` budgets by this process's CPU time instead (the same as wall
time on an idle machine with `--threads 1`).

Run: `python benchmarks/vision_recipe.py [--sets mnist hymenoptera] [--epochs-mnist E]
[--epochs-hymenoptera E] [--threads N] [--clock wall|cpu] [--no-flip]`
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.nn import functional as F

DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
BS = 64
LR = 1e-3
CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.process_time}
EXTENSIONS = (".png", ".jpg", ".jpeg", ".gif")


@dataclass(frozen=True)
class Recipe:
    """One data set: its validation folder, image size and lamina's epochs."""

    name: str
    valid: str
    size: int
    epochs: int


RECIPES = {
    "mnist": Recipe("mnist", "test", 28, 3),
    "hymenoptera": Recipe("hymenoptera", "val", 64, 8),
}


# ----------------------------------------------------------------------------- (a) lamina
def run_lamina(
    path: Path, recipe: Recipe, clock: Callable[[], float], do_flip: bool = True
) -> tuple[float, float]:
    """lamina's default recipe; returns (seconds, validation accuracy)."""
    from lamina.core.seed import set_seed
    from lamina.train.metrics import accuracy
    from lamina.vision import ImageDataLoaders, Resize, aug_transforms
    from lamina.vision.learner import vision_learner

    set_seed(0)
    start = clock()
    dls = ImageDataLoaders.from_folder(
        path,
        train="train",
        valid=recipe.valid,
        item_tfms=Resize(recipe.size),
        batch_tfms=aug_transforms(do_flip=do_flip),
        bs=BS,
        device="cpu",
        seed=0,
    )
    learn = vision_learner(dls, "resnet18", pretrained=False, metrics=accuracy)
    learn.progress.silent = True
    learn.fit_one_cycle(recipe.epochs)
    elapsed = clock() - start
    return elapsed, float(learn.recorder.last_values()[-1])


# ----------------------------------------------------------------------------- (b) by hand
class FolderImages(torch.utils.data.Dataset):
    """`root/<label>/<file>` images as (float (3, size, size) in [0, 1], label index)."""

    def __init__(self, root: Path, size: int, classes: list[str] | None = None) -> None:
        self.classes = classes or sorted(p.name for p in root.iterdir() if p.is_dir())
        self.items = [
            (file, index)
            for index, label in enumerate(self.classes)
            for file in sorted((root / label).iterdir())
            if file.suffix.lower() in EXTENSIONS
        ]
        self.size = size

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        from PIL import Image, ImageOps

        file, label = self.items[index]
        with Image.open(file) as image:
            image = ImageOps.fit(image.convert("RGB"), (self.size, self.size))
        pixels = torch.frombuffer(bytearray(image.tobytes()), dtype=torch.uint8)
        return pixels.view(self.size, self.size, 3).permute(2, 0, 1).float() / 255, label


def run_by_hand(
    path: Path, recipe: Recipe, budget: float, clock: Callable[[], float]
) -> tuple[float, float, int]:
    """Adam at a constant LR until `budget` seconds pass; (seconds, accuracy, epochs begun)."""
    from lamina.models import create_vision_model

    torch.manual_seed(0)
    start = clock()
    train = FolderImages(path / "train", recipe.size)
    valid = FolderImages(path / recipe.valid, recipe.size, train.classes)
    train_dl = torch.utils.data.DataLoader(train, batch_size=BS, shuffle=True)
    model = create_vision_model("resnet18", len(train.classes))
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    epochs = 0
    while clock() - start < budget:
        epochs += 1
        model.train()
        for xb, yb in train_dl:
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
            if clock() - start >= budget:
                break
    elapsed = clock() - start
    return elapsed, evaluate(model, valid), epochs


def evaluate(model: torch.nn.Module, dataset: FolderImages) -> float:
    """Accuracy of `model` on `dataset`."""
    model.eval()
    correct = 0
    with torch.no_grad():
        for xb, yb in torch.utils.data.DataLoader(dataset, batch_size=BS):
            correct += int((model(xb).argmax(dim=1) == yb).sum())
    return correct / len(dataset)


# ----------------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", choices=sorted(RECIPES), default=list(RECIPES))
    parser.add_argument("--epochs-mnist", type=int, default=RECIPES["mnist"].epochs)
    parser.add_argument("--epochs-hymenoptera", type=int, default=RECIPES["hymenoptera"].epochs)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall")
    parser.add_argument(
        "--no-flip", action="store_true", help="aug_transforms(do_flip=False) (digits, text...)"
    )
    args = parser.parse_args()
    clock = CLOCKS[args.clock]
    if args.threads:
        torch.set_num_threads(args.threads)
    epochs = {"mnist": args.epochs_mnist, "hymenoptera": args.epochs_hymenoptera}
    rows = []
    for name in args.sets:
        path = DATASETS / name
        if not path.is_dir():
            print(f"skipping {name}: {path} is absent")
            continue
        base = RECIPES[name]
        recipe = Recipe(base.name, base.valid, base.size, epochs[name])
        lamina_time, lamina_acc = run_lamina(path, recipe, clock, not args.no_flip)
        hand_time, hand_acc, hand_epochs = run_by_hand(path, recipe, lamina_time, clock)
        rows.append((name, recipe.epochs, lamina_time, lamina_acc, hand_time, hand_acc,
                     hand_epochs))  # fmt: skip
        print(f"{name}: lamina {lamina_acc:.4f} in {lamina_time:.1f}s, "
              f"hand {hand_acc:.4f} in {hand_time:.1f}s", flush=True)  # fmt: skip
    flips = "no flips" if args.no_flip else "default aug_transforms()"
    print(f"\n(torch threads: {torch.get_num_threads()}, batch size {BS}, {args.clock} clock, "
          f"lamina with {flips})")  # fmt: skip
    header = f"{'data set':<12} {'lamina time':>12} {'lamina acc':>11} {'hand time':>10} "
    print(header + f"{'hand acc':>9}  epochs (lamina / hand)")
    for name, n_epoch, l_time, l_acc, h_time, h_acc, h_epochs in rows:
        print(f"{name:<12} {l_time:>11.1f}s {l_acc:>11.4f} {h_time:>9.1f}s {h_acc:>9.4f}  "
              f"{n_epoch} / {h_epochs}")  # fmt: skip


if __name__ == "__main__":
    main()
