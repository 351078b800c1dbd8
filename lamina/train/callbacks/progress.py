"""`ProgressCallback`: a batch progress bar and the epoch table, in a terminal or a notebook."""

from __future__ import annotations

import math
import time
from typing import Any

from lamina.core.ranks import is_main_process
from lamina.train.callback import Callback


def _format(value: Any) -> str:
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    return f"{value:.6f}" if isinstance(value, float) else str(value)


class ProgressCallback(Callback):
    """Shows a progress bar per phase and prints one table row per epoch.

    The bar is refreshed at most every `refresh` seconds, and only then is the smoothed loss read
    from the device, so the display costs almost nothing per batch. `silent=True` hides it all;
    under DDP only rank 0 shows anything.
    """

    order = 60

    def __init__(self, silent: bool = False, refresh: float = 0.2) -> None:
        self.silent, self.refresh = silent, refresh
        self.bar: Any = None

    def before_fit(self) -> None:
        self._header_done = False

    def _open_bar(self, desc: str) -> None:
        if self.silent or not is_main_process():
            return
        from tqdm.auto import tqdm

        self.bar = tqdm(total=self.learn.n_iter, desc=desc, leave=False, dynamic_ncols=True)
        self._pending, self._last_refresh = 0, time.perf_counter()

    def before_train(self) -> None:
        self._open_bar(f"epoch {self.learn.epoch} train")

    def before_validate(self) -> None:
        if self.learn.in_fit:
            self._open_bar(f"epoch {self.learn.epoch} valid")

    def after_batch(self) -> None:
        if self.bar is None:
            return
        self._pending += 1
        now = time.perf_counter()
        if now - self._last_refresh >= self.refresh:
            if self.learn.training:
                self.bar.set_postfix(loss=f"{self.learn.recorder.smooth_loss():.4f}", refresh=False)
            self.bar.update(self._pending)
            self._pending, self._last_refresh = 0, now

    def _close_bar(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def after_train(self) -> None:
        self._close_bar()

    def after_validate(self) -> None:
        self._close_bar()

    def after_epoch(self) -> None:
        if self.silent or not is_main_process():
            return
        recorder = self.learn.recorder
        names = recorder.metric_names
        widths = [max(len(name), 9) for name in names]
        if not self._header_done:
            self._write(
                "  ".join(name.ljust(width) for name, width in zip(names, widths, strict=True))
            )
            self._header_done = True
        row = [recorder.history[-1][name] for name in names]
        cells = [_format(value) for value in row[:-1]] + [f"{row[-1]:.1f}s"]
        self._write("  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)))

    def _write(self, line: str) -> None:
        from tqdm.auto import tqdm

        tqdm.write(line)

    def after_fit(self) -> None:
        self._close_bar()
