"""Built-in real data sets that work offline, written where the data layer expects files.

Each function returns a path (or a DataFrame) ready for the matching `*DataLoaders` factory.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from lamina.collab.builtin import load_movielens_100k, movielens_100k_folder
from lamina.data.download import cache_dir
from lamina.tabular.builtin import load_penguins
from lamina.text.builtin import load_conversations, tiny_shakespeare

__all__ = [
    "digits",
    "load_conversations",
    "load_movielens_100k",
    "load_penguins",
    "movielens_100k_folder",
    "tiny_shakespeare",
]


def digits(dest: str | os.PathLike | None = None) -> Path:
    """scikit-learn's 1,797 handwritten digits (8x8 grey scans), as PNG class folders.

    Written once to `dest` (default: `<lamina cache>/data/digits`) as `<label>/<index>.png`, so
    they go through `ImageDataLoaders.from_folder` exactly as a user's folder of images would.

    Example:
        >>> path = digits()
        >>> dls = ImageDataLoaders.from_folder(path, valid_pct=0.2, seed=42, item_tfms=Resize(32))
    """
    import numpy as np
    from PIL import Image
    from sklearn.datasets import load_digits

    folder = Path(dest) if dest is not None else cache_dir() / "data" / "digits"
    if (folder / ".complete").exists():
        return folder
    data = load_digits()
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".digits.", dir=folder.parent))
    try:
        for index, (image, label) in enumerate(zip(data.images, data.target, strict=True)):
            (staging / str(label)).mkdir(exist_ok=True)
            pixels = np.round(image * (255 / 16)).astype(np.uint8)  # scans hold values 0..16
            Image.fromarray(pixels, mode="L").save(staging / str(label) / f"{index:04d}.png")
        (staging / ".complete").touch()
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder
