"""Single-image prediction latency: `load_learner(...).predict(path)` against a bare forward pass.

For each case, a ResNet-18 vision learner is built (untrained: latency does not depend on the
weights), exported and loaded back with `lamina.load_learner`. Then one image file is predicted
`--calls` times after a warm-up, two ways, alternating:

- lamina: `learn.predict(path)` (label, index, probabilities);
- bare: the same steps written by hand: open with Pillow, convert to RGB, resize, to a tensor,
  divide by 255, normalize with the exported statistics, `model(x)` under `torch.no_grad` in eval
  mode, softmax, argmax.

Cases: a digit PNG (8x8 grey) at 32 px, the README's model, where the forward pass is short and
any overhead shows; and a 500x375 photo-like JPEG at 224 px. Prints both medians (ms) and the
ratio (goal: lamina <= 1.2x the bare time).

Run: `python benchmarks/predict_latency.py [--calls N] [--threads T]`.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import lamina.datasets
from lamina import load_learner
from lamina.vision import ImageDataLoaders, Resize, vision_learner
from lamina.vision.transforms.normalize import Normalize


def photo_folder(root: Path) -> Path:
    """Two classes of three photo-sized JPEGs (gradients plus noise)."""
    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 200, 500, dtype=np.float32)
    for label in ("a", "b"):
        (root / label).mkdir(parents=True)
        for i in range(3):
            pixels = ramp[None, :, None] + rng.normal(0, 20, (375, 500, 3))
            image = Image.fromarray(pixels.clip(0, 255).astype(np.uint8))
            image.save(root / label / f"{i}.jpg", quality=90)
    return root


def exported_learner(folder: Path, size: int, dest: Path) -> object:
    dls = ImageDataLoaders.from_folder(folder, valid_pct=0.2, seed=42, item_tfms=Resize(size))
    learn = vision_learner(dls, "resnet18", pretrained=False)
    return load_learner(learn.export(dest / f"model_{size}.lamina"))


def bare_predictor(learn: object, size: int) -> Callable[[Path], tuple[int, torch.Tensor]]:
    """The preprocessing and forward pass by hand, with the exported model and statistics."""
    (norm,) = [t for t in learn.inference_pipeline().batch_tfms.tfms if isinstance(t, Normalize)]
    mean = torch.tensor(norm.mean).view(1, -1, 1, 1)
    std = torch.tensor(norm.std).view(1, -1, 1, 1)
    model = learn.model.eval()

    def predict(path: Path) -> tuple[int, torch.Tensor]:
        image = Image.open(path).convert("RGB").resize((size, size), Image.Resampling.BILINEAR)
        x = torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1)[None]  # (1, 3, H, W)
        x = (x.float() / 255 - mean) / std
        with torch.no_grad():
            probs = torch.softmax(model(x), dim=-1)[0]
        return int(probs.argmax()), probs

    return predict


def median_ms(func: Callable[[], object], calls: int) -> float:
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def compare(name: str, learn: object, image: Path, size: int, calls: int) -> None:
    bare = bare_predictor(learn, size)
    assert learn.predict(image)[1] == bare(image)[0]  # the same answer both ways
    for _ in range(10):  # warm-up
        learn.predict(image)
        bare(image)
    lamina_times, bare_times = [], []
    for _ in range(calls // 10):  # alternate in blocks, so drifts in load hit both alike
        lamina_times.append(median_ms(lambda: learn.predict(image), 10))
        bare_times.append(median_ms(lambda: bare(image), 10))
    lamina_ms, bare_ms = statistics.median(lamina_times), statistics.median(bare_times)
    print(f"{name:<28} lamina {lamina_ms:7.2f} ms   bare {bare_ms:7.2f} ms   "
          f"ratio {lamina_ms / bare_ms:.2f}x")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        digits = lamina.datasets.digits(root / "digits")
        learn = exported_learner(digits, 32, root)
        compare("digit PNG at 32 px", learn, next((digits / "3").iterdir()), 32, args.calls)
        photos = photo_folder(root / "photos")
        learn = exported_learner(photos, 224, root)
        compare("500x375 JPEG at 224 px", learn, photos / "a" / "0.jpg", 224, args.calls)


if __name__ == "__main__":
    main()
