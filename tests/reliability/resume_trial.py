"""One small training run that can be killed and resumed: the subject of the resume tests.

Digits (8x8 grey scans, a subset) through `ImageDataLoaders` with random crops in the items and
`aug_transforms` on the batches, a small CNN, a one-cycle schedule, and `SaveModel(every_steps)`.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import torch
from safetensors.torch import save_file

from lamina import Callback
from lamina.core.seed import set_seed
from lamina.train.callbacks import SaveModel
from lamina.vision import ImageDataLoaders, vision_learner
from lamina.vision.transforms.augment import aug_transforms
from lamina.vision.transforms.resize import RandomResizedCrop

N_EPOCH, BS, EVERY_STEPS = 3, 16, 2


def write_digits(folder: Path, n: int = 160) -> Path:
    """The first `n` of scikit-learn's digits as PNG class folders under `folder`."""
    import numpy as np
    from PIL import Image
    from sklearn.datasets import load_digits

    data = load_digits()
    for index in range(n):
        label_folder = folder / str(data.target[index])
        label_folder.mkdir(parents=True, exist_ok=True)
        pixels = np.round(data.images[index] * (255 / 16)).astype(np.uint8)
        Image.fromarray(pixels, mode="L").save(label_folder / f"{index:04d}.png")
    return folder


def make_learner(folder: Path, workers: int, checkpoints: Path):
    """The same learner in every process (the weights are random until loaded)."""
    set_seed(0)
    dls = ImageDataLoaders.from_folder(
        folder,
        valid_pct=0.25,
        seed=1,
        item_tfms=RandomResizedCrop(8, min_scale=0.6),
        batch_tfms=aug_transforms(do_flip=False, max_rotate=15.0),
        bs=BS,
        num_workers=workers,
        device="cpu",
        img_mode="L",
    )
    return vision_learner(dls, "simple_cnn", pretrained=False, path=checkpoints)


class KillAt(Callback):
    """SIGKILLs this process at training step `step`, before or after the batch."""

    order = 100  # after SaveModel

    def __init__(self, step: int, where: str) -> None:
        self.step, self.where = step, where

    def _maybe_kill(self, where: str) -> None:
        if self.learn.training and self.learn.train_iter == self.step and self.where == where:
            os.kill(os.getpid(), signal.SIGKILL)

    def before_batch(self) -> None:
        self._maybe_kill("before")

    def after_batch(self) -> None:
        self._maybe_kill("after")


def run(
    folder: Path, workers: int, checkpoints: Path, kill: tuple[int, str] | None, out: Path | None
) -> None:
    """Train (resuming from `checkpoints/models/model_last` when it exists); SIGKILL at
    `kill = (step, "before" | "after")`; write the final weights to `out`.

    The trial leads a process group of its own, so the test can remove its loader workers (and
    the forkserver that started them) after the SIGKILL: they would otherwise outlive it.
    """
    os.setpgid(0, 0)
    torch.set_num_threads(1)
    learn = make_learner(folder, workers, checkpoints)
    learn.remove_cbs([learn.progress])
    cbs = [SaveModel(every_steps=EVERY_STEPS, at_end=False)]  # compare the last weights
    if kill is not None:
        cbs.append(KillAt(*kill))
    last = checkpoints / "models" / "model_last.safetensors"
    resume = last.exists()
    if resume:
        learn.load(last)
    learn.fit_one_cycle(N_EPOCH, 1e-2, cbs=cbs, resume=resume)
    if out is not None:
        save_file({k: v.contiguous() for k, v in learn.model.state_dict().items()}, str(out))
