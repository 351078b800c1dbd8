"""scikit-learn's digits (8x8 grey, real handwriting) written as PNGs in class folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def write_digit_folders(root: Path, per_class: int) -> Path:
    """The first `per_class` digits of each class as `root/<label>/<index>.png`; returns `root`."""
    from sklearn.datasets import load_digits

    data = load_digits()
    counts = dict.fromkeys(range(10), 0)
    for index, (image, label) in enumerate(zip(data.images, data.target, strict=True)):
        if counts[int(label)] == per_class:
            continue
        counts[int(label)] += 1
        (root / str(label)).mkdir(exist_ok=True)
        pixels = np.round(image * (255 / 16)).astype(np.uint8)
        Image.fromarray(pixels, mode="L").save(root / str(label) / f"{index:04d}.png")
    return root
