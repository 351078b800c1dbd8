"""The README's example as a command: `python -m lamina.demo`.

It runs the README's lines as they are written (handwritten digits, a ResNet-18 trained from
scratch for five epochs), which print the epoch table, then prints the final validation figures
and the time taken. `make demo` runs it.
"""

from __future__ import annotations

import time


def main() -> None:
    """Train the README's example and print its validation loss, accuracy and wall time."""
    start = time.perf_counter()
    import lamina.datasets
    from lamina import accuracy
    from lamina.vision import ImageDataLoaders, Resize, vision_learner

    path = lamina.datasets.digits()
    dls = ImageDataLoaders.from_folder(path, valid_pct=0.2, seed=42, item_tfms=Resize(32))
    learn = vision_learner(dls, "resnet18", pretrained=False, metrics=accuracy)
    learn.fit_one_cycle(5)

    loss, acc = learn.validate()
    elapsed = time.perf_counter() - start
    print(f"validation loss {loss:.4f}, accuracy {acc:.4f} ({elapsed:.1f} s in all)")


if __name__ == "__main__":
    main()
