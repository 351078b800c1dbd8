"""Schedules: pure functions of training progress `pct` in [0, 1] to a hyper-parameter value.

An annealer goes from `start` (at pct 0) to `end` (at pct 1). `start` and `end` may be floats or
NumPy arrays holding one value per parameter group; the value is then an array of the same shape.
`combine_scheds` chains annealers into phases. Each schedule is a small class with `__call__`, so
it pickles and prints readably, e.g. `sched_cos(start=0.001, end=0.04)`.

The last three functions build the schedules behind `Learner.fit_one_cycle`, `fit_flat_cos` and
`fit_sgdr`.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

import numpy as np

Value = float | np.ndarray


def _as_value(value: float | Sequence[float] | np.ndarray, name: str) -> Value:
    array = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return float(array) if array.ndim == 0 else array


def _out(value: Value) -> Value:
    return float(value) if np.ndim(value) == 0 else np.asarray(value, dtype=float)


def _show(value: Value) -> str:
    return repr(value.tolist()) if isinstance(value, np.ndarray) else repr(value)


class Annealer:
    """Base class: a value moving from `start` to `end` as `pct` goes from 0 to 1."""

    name = "annealer"

    def __init__(self, start: Value, end: Value) -> None:
        self.start, self.end = _as_value(start, "start"), _as_value(end, "end")

    def __call__(self, pct: float) -> Value:
        return _out(self.anneal(float(pct)))

    def anneal(self, pct: float) -> Value:
        """The raw value at `pct` (subclasses implement this)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{self.name}(start={_show(self.start)}, end={_show(self.end)})"


class LinearSchedule(Annealer):
    """Straight line from `start` to `end`."""

    name = "sched_lin"

    def anneal(self, pct: float) -> Value:
        return self.start + pct * (self.end - self.start)


class CosineSchedule(Annealer):
    """Half a cosine from `start` to `end`: flat at both ends, steepest in the middle."""

    name = "sched_cos"

    def anneal(self, pct: float) -> Value:
        return self.end + (self.start - self.end) * (1 + math.cos(math.pi * pct)) / 2


class ExponentialSchedule(Annealer):
    """Geometric interpolation: `start * (end / start) ** pct` (start and end of one sign)."""

    name = "sched_exp"

    def __init__(self, start: Value, end: Value) -> None:
        super().__init__(start, end)
        if np.any(np.asarray(self.start) * np.asarray(self.end) <= 0):
            raise ValueError(
                f"sched_exp needs start and end nonzero and of the same sign, "
                f"got start={_show(self.start)}, end={_show(self.end)}"
            )

    def anneal(self, pct: float) -> Value:
        return self.start * (self.end / self.start) ** pct


class PolySchedule(Annealer):
    """Polynomial decay: `end + (start - end) * (1 - pct) ** power` (torch's PolynomialLR when
    `end` is 0)."""

    name = "sched_poly"

    def __init__(self, start: Value, end: Value, power: float) -> None:
        super().__init__(start, end)
        if not (isinstance(power, (int, float)) and power > 0):
            raise ValueError(f"power must be a positive number, got {power!r}")
        self.power = float(power)

    def anneal(self, pct: float) -> Value:
        return self.end + (self.start - self.end) * (1 - pct) ** self.power

    def __repr__(self) -> str:
        return f"sched_poly(start={_show(self.start)}, end={_show(self.end)}, power={self.power!r})"


class ConstantSchedule(Annealer):
    """Stays at `start` (`end` is ignored)."""

    name = "sched_no"

    def anneal(self, pct: float) -> Value:
        return self.start


def sched_lin(start: Value, end: Value) -> LinearSchedule:
    """Linear schedule from `start` to `end`."""
    return LinearSchedule(start, end)


def sched_cos(start: Value, end: Value) -> CosineSchedule:
    """Cosine schedule from `start` to `end`."""
    return CosineSchedule(start, end)


def sched_exp(start: Value, end: Value) -> ExponentialSchedule:
    """Exponential (geometric) schedule from `start` to `end`."""
    return ExponentialSchedule(start, end)


def sched_poly(start: Value, end: Value, power: float) -> PolySchedule:
    """Polynomial schedule from `start` to `end` with exponent `power`."""
    return PolySchedule(start, end, power)


def sched_no(start: Value, end: Value | None = None) -> ConstantSchedule:
    """Constant schedule at `start`."""
    return ConstantSchedule(start, start if end is None else end)


class CombinedSchedule:
    """Phases: schedule `i` runs over a fraction `pcts[i]` of training, seeing its own progress
    from 0 to 1. A phase of length 0 is skipped."""

    def __init__(self, pcts: Sequence[float], scheds: Sequence[Annealer]) -> None:
        pcts = [float(pct) for pct in pcts]
        if len(pcts) != len(scheds) or not pcts:
            raise ValueError(
                f"pcts and scheds must be non-empty and of equal length, got {len(pcts)} pcts "
                f"and {len(scheds)} scheds"
            )
        if any(pct < 0 for pct in pcts) or abs(sum(pcts) - 1) > 1e-6:
            raise ValueError(f"pcts must be non-negative and sum to 1, got {pcts}")
        if not all(callable(sched) for sched in scheds):
            raise ValueError(f"scheds must be callables of progress, got {list(scheds)!r}")
        self.pcts, self.scheds = pcts, list(scheds)
        self._bounds = np.cumsum([0.0, *pcts]).tolist()
        self._last = max(i for i, pct in enumerate(pcts) if pct > 0)

    def __call__(self, pct: float) -> Value:
        pct = min(max(float(pct), 0.0), 1.0)
        # the boundary between two phases belongs to the later one
        phase = min(bisect.bisect_right(self._bounds, pct, lo=1) - 1, self._last)
        local = (pct - self._bounds[phase]) / self.pcts[phase]
        return self.scheds[phase](min(max(local, 0.0), 1.0))

    def __repr__(self) -> str:
        return f"combine_scheds(pcts={self.pcts!r}, scheds={self.scheds!r})"


def combine_scheds(pcts: Sequence[float], scheds: Sequence[Annealer]) -> CombinedSchedule:
    """Chain `scheds` into phases lasting the fractions `pcts` (summing to 1) of training.

    Example:
        >>> warm_then_decay = combine_scheds([0.1, 0.9], [sched_lin(0, 1e-3), sched_cos(1e-3, 0)])
        >>> warm_then_decay(0.1)
        0.001
    """
    return CombinedSchedule(pcts, scheds)


def _check_lrs(lr: float | Sequence[float] | np.ndarray, name: str) -> Value:
    value = _as_value(lr, name)
    if np.any(np.asarray(value) <= 0):
        raise ValueError(f"{name} must be positive, got {_show(value)}")
    return value


def _check_positive(value: float, name: str) -> None:
    if not (isinstance(value, (int, float)) and value > 0 and math.isfinite(value)):
        raise ValueError(f"{name} must be a positive number, got {value!r}")


def _check_pct_start(pct_start: float) -> None:
    if not (isinstance(pct_start, (int, float)) and 0 <= pct_start < 1):
        raise ValueError(f"pct_start must be in [0, 1), got {pct_start!r}")


def one_cycle_schedules(
    lr_max: float | np.ndarray,
    div: float = 25.0,
    div_final: float = 1e5,
    pct_start: float = 0.25,
    moms: Sequence[float] | None = (0.95, 0.85, 0.95),
) -> dict[str, CombinedSchedule]:
    """The one-cycle policy: the LR warms up from `lr_max / div` to `lr_max` over `pct_start` of
    training, then anneals to `lr_max / div_final`, both by cosine; momentum runs `moms[0]` to
    `moms[1]` then back to `moms[2]`, also by cosine. `moms=None` leaves momentum alone."""
    lr_max = _check_lrs(lr_max, "lr_max")
    _check_positive(div, "div")
    _check_positive(div_final, "div_final")
    _check_pct_start(pct_start)
    pcts = [pct_start, 1 - pct_start]
    scheds = {
        "lr": combine_scheds(
            pcts, [sched_cos(lr_max / div, lr_max), sched_cos(lr_max, lr_max / div_final)]
        )
    }
    if moms is not None:
        moms = [float(mom) for mom in moms]
        if len(moms) != 3 or not all(0 <= mom <= 1 for mom in moms):
            raise ValueError(f"moms must be three momentums in [0, 1] or None, got {moms!r}")
        scheds["mom"] = combine_scheds(
            pcts, [sched_cos(moms[0], moms[1]), sched_cos(moms[1], moms[2])]
        )
    return scheds


def flat_cos_schedules(
    lr: float | np.ndarray, div_final: float = 1e5, pct_start: float = 0.75
) -> dict[str, CombinedSchedule]:
    """A flat LR for `pct_start` of training, then cosine annealing to `lr / div_final`."""
    lr = _check_lrs(lr, "lr")
    _check_positive(div_final, "div_final")
    _check_pct_start(pct_start)
    return {
        "lr": combine_scheds(
            [pct_start, 1 - pct_start], [sched_no(lr), sched_cos(lr, lr / div_final)]
        )
    }


def sgdr_schedules(
    lr_max: float | np.ndarray, n_cycles: int, cycle_len: int = 1, cycle_mult: int = 2
) -> dict[str, CombinedSchedule]:
    """SGD with warm restarts: `n_cycles` cosine cycles from `lr_max` down to 0, cycle `i`
    lasting `cycle_len * cycle_mult**i` epochs (as torch's CosineAnnealingWarmRestarts)."""
    lr_max = _check_lrs(lr_max, "lr_max")
    counts = {"n_cycles": n_cycles, "cycle_len": cycle_len, "cycle_mult": cycle_mult}
    for name, value in counts.items():
        if not (isinstance(value, int) and value >= 1):
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    lengths = [cycle_len * cycle_mult**i for i in range(n_cycles)]
    total = sum(lengths)
    zero = np.zeros_like(lr_max) if isinstance(lr_max, np.ndarray) else 0.0
    return {
        "lr": combine_scheds(
            [length / total for length in lengths], [sched_cos(lr_max, zero)] * n_cycles
        )
    }
