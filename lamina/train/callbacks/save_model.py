"""`SaveModel`: checkpoint the best epoch (or every epoch) while training."""

from __future__ import annotations

import warnings
from typing import Any

from lamina.core.seed import get_rng_state, set_rng_state
from lamina.train.callbacks.tracker import TrackerCallback


class SaveModel(TrackerCallback):
    """Saves a checkpoint with `learn.save` whenever `monitor` improves, or after every epoch.

    Args:
        monitor, comp, min_delta: what counts as the best epoch (see `TrackerCallback`).
        every_epoch: save after every epoch as `{name}_{epoch}` instead of only the best as
            `{name}`.
        name: the checkpoint name under `learn.path / learn.model_dir`.
        at_end: load the best checkpoint's weights (and optimizer state) back into the learner
            when training ends, also after an early stop (the default: after a fit the learner
            holds its best epoch's weights, not those of a last epoch that may have diverged);
            the rest of the learner's state (the recorder's history, position, RNG) stays that
            of the end of training. False keeps the last epoch's weights (the best stay on
            disk, `learn.load(name)`). fastai's `SaveModelCallback` loads the best at the end
            too; its `at_end=True` (save once at the end, load nothing) is `at_end=False` here
            plus `learn.save(name)` after the fit.
        with_opt: save (and load) the optimizer state too, so training can resume exactly.
        every_steps: also save every this many training batches as `{name}_last`
            (overwritten each time, atomically), so a crash loses at most that many steps:
            `learn.load(f"{name}_last"); learn.fit(..., resume=True)` continues exactly at
            the batch it was saved at. None: only the saves above. To resume with the
            whole fit's best (for `at_end`), give `SaveModel` to `Learner(cbs=...)` so that
            `learn.load` restores its state; one passed to `fit(cbs=...)` only warns.

    Example:
        >>> learn.fit(10, cbs=SaveModel("accuracy"))  # ends holding the most accurate epoch
        >>> learn.fit_one_cycle(10, cbs=SaveModel(every_steps=50))  # crash-safe long runs
    """

    def __init__(
        self,
        monitor: str = "valid_loss",
        comp: str | None = None,
        min_delta: float = 0.0,
        every_epoch: bool = False,
        name: str = "model",
        at_end: bool = True,
        with_opt: bool = True,
        every_steps: int | None = None,
    ) -> None:
        super().__init__(monitor, comp, min_delta)
        if every_steps is not None and not (
            isinstance(every_steps, int) and not isinstance(every_steps, bool) and every_steps > 0
        ):
            raise ValueError(f"every_steps must be a positive integer or None, got {every_steps!r}")
        self.every_steps = every_steps
        if not isinstance(name, str) or not name or "/" in name or "\\" in name:
            raise ValueError(f"name must be a non-empty file name without '/', got {name!r}")
        self.every_epoch, self.fname = bool(every_epoch), name  # `name` is the callback's own
        self.at_end, self.with_opt = bool(at_end), bool(with_opt)
        self.saved: list[str] = []
        self._restored = False  # state came from a checkpoint (`load_state_dict`)

    def before_fit(self) -> None:
        super().before_fit()
        learn = self.learn
        if getattr(learn, "start_epoch", 0) == 0:
            self.saved = []
        elif not self._restored:
            warnings.warn(
                "SaveModel was not among the learner's callbacks when the checkpoint was loaded, "
                "so it does not know the best epoch before it: 'best' (and the weights loaded "
                "at the end) covers only the resumed epochs. Pass it to Learner(cbs=...) before "
                "learn.load(...) to keep the whole fit's best",
                UserWarning,
                stacklevel=2,
            )
        self._restored = False

    def after_batch(self) -> None:
        learn = self.learn
        if self.every_steps is None or not (learn.training and learn.in_fit):
            return
        if (learn.train_iter + 1) % self.every_steps == 0:  # train_iter: this batch's number
            learn.save(f"{self.fname}_last", with_opt=self.with_opt)

    def after_epoch(self) -> None:
        super().after_epoch()
        if self.every_epoch:
            self._save(f"{self.fname}_{self.learn.epoch}")
        elif self.new_best:
            self._save(self.fname)

    def _save(self, name: str) -> None:
        self.learn.save(name, with_opt=self.with_opt)
        self.saved.append(name)

    def best_name(self) -> str | None:
        """The checkpoint name of the best epoch so far (None before any improvement)."""
        if self.best_epoch is None:
            return None
        return f"{self.fname}_{self.best_epoch}" if self.every_epoch else self.fname

    def after_fit(self) -> None:
        best = self.best_name()
        if self.at_end and best is not None and best in self.saved:
            self._load_weights(best)

    def _load_weights(self, name: str) -> None:
        # A checkpoint also holds callback, progress and RNG state from the best epoch; keep the
        # history of the whole fit (the recorder's table) and only take the weights back.
        learn = self.learn
        states = [(cb, cb.state_dict()) for cb in learn.cbs]
        epochs_done, rng = learn.epochs_done, get_rng_state()
        learn.load(name, with_opt=self.with_opt)
        for cb, state in states:
            cb.load_state_dict(state)
        learn.epochs_done = epochs_done
        set_rng_state(*rng)

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "saved": list(self.saved)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.saved = list(state.get("saved", []))
        self._restored = True
