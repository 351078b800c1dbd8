"""Schedules: values at exact points, per-group arrays, and torch's schedulers as reference."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
import torch

from lamina.optim.schedules import (
    combine_scheds,
    flat_cos_schedules,
    one_cycle_schedules,
    sched_cos,
    sched_exp,
    sched_lin,
    sched_no,
    sched_poly,
    sgdr_schedules,
)


@pytest.mark.parametrize(
    ("sched", "expected"),
    [
        (sched_lin(1.0, 3.0), [1.0, 1.5, 2.0, 3.0]),
        (sched_cos(1.0, 3.0), [1.0, 2 - math.sqrt(2) / 2, 2.0, 3.0]),
        (sched_exp(1.0, 16.0), [1.0, 2.0, 4.0, 16.0]),
        (sched_poly(2.0, 0.0, 2.0), [2.0, 2 * 0.75**2, 0.5, 0.0]),
        (sched_no(5.0, 1.0), [5.0, 5.0, 5.0, 5.0]),
    ],
)
def test_annealers_at_exact_points(sched, expected) -> None:
    values = [sched(pct) for pct in (0, 0.25, 0.5, 1)]
    assert values == pytest.approx(expected, rel=1e-12)
    assert all(isinstance(value, float) for value in values)


def test_array_start_end_give_one_value_per_group() -> None:
    sched = sched_cos(np.array([1e-3, 1e-2]), np.array([1e-5, 1e-4]))
    value = sched(0.5)
    assert isinstance(value, np.ndarray)
    assert value == pytest.approx([(1e-3 + 1e-5) / 2, (1e-2 + 1e-4) / 2])
    assert sched_exp(np.array([1.0, 2.0]), np.array([4.0, 8.0]))(0.5) == pytest.approx([2, 4])


def test_schedules_pickle_and_print_readably() -> None:
    sched = combine_scheds([0.3, 0.7], [sched_lin(0.0, 1.0), sched_poly(1.0, 0.0, 2.0)])
    copy = pickle.loads(pickle.dumps(sched))
    assert [copy(p) for p in np.linspace(0, 1, 11)] == [sched(p) for p in np.linspace(0, 1, 11)]
    assert repr(sched) == (
        "combine_scheds(pcts=[0.3, 0.7], scheds=[sched_lin(start=0.0, end=1.0), "
        "sched_poly(start=1.0, end=0.0, power=2.0)])"
    )
    assert repr(sched_cos(np.array([1.0, 2.0]), 0.0)) == "sched_cos(start=[1.0, 2.0], end=0.0)"


def test_combine_scheds_phases_and_boundaries() -> None:
    sched = combine_scheds([0.25, 0.75], [sched_lin(0.0, 1.0), sched_lin(1.0, 0.0)])
    assert sched(0.0) == 0.0
    assert sched(0.125) == pytest.approx(0.5)
    assert sched(0.25) == 1.0
    assert sched(0.625) == pytest.approx(0.5)
    assert sched(1.0) == pytest.approx(0.0)
    zero_first = combine_scheds([0.0, 1.0], [sched_no(9.0), sched_lin(1.0, 2.0)])
    assert zero_first(0.0) == 1.0
    zero_last = combine_scheds([1.0, 0.0], [sched_lin(1.0, 2.0), sched_no(9.0)])
    assert zero_last(1.0) == 2.0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: combine_scheds([0.5, 0.6], [sched_no(1.0)] * 2), "sum to 1"),
        (lambda: combine_scheds([1.0], [sched_no(1.0)] * 2), "equal length"),
        (lambda: sched_exp(0.0, 1.0), "same sign"),
        (lambda: sched_poly(1.0, 0.0, -1), "power"),
        (lambda: sched_lin(float("nan"), 1.0), "start must be finite"),
        (lambda: one_cycle_schedules(1e-2, pct_start=1.0), "pct_start must be in"),
        (lambda: one_cycle_schedules(1e-2, div=0), "div must be a positive"),
        (lambda: one_cycle_schedules(1e-2, div_final=-1), "div_final must be a positive"),
        (lambda: one_cycle_schedules(-1e-2), "lr_max must be positive"),
        (lambda: one_cycle_schedules(1e-2, moms=(0.9, 0.8)), "moms must be three"),
        (lambda: flat_cos_schedules(1e-2, pct_start=-0.1), "pct_start must be in"),
        (lambda: sgdr_schedules(1e-2, 0, 1, 2), "n_cycles must be a positive integer"),
        (lambda: sgdr_schedules(1e-2, 2, 1, 1.5), "cycle_mult must be a positive integer"),
    ],
)
def test_invalid_arguments_are_named(call, message) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_one_cycle_values_at_exact_points() -> None:
    scheds = one_cycle_schedules(np.array([1e-3, 1e-2]), 25.0, 1e5, 0.25, (0.95, 0.85, 0.95))
    assert scheds["lr"](0.0) == pytest.approx([1e-3 / 25, 1e-2 / 25])
    assert scheds["lr"](0.25) == pytest.approx([1e-3, 1e-2])
    assert scheds["lr"](1.0) == pytest.approx([1e-8, 1e-7])
    assert scheds["mom"](0.0) == 0.95
    assert scheds["mom"](0.25) == pytest.approx(0.85)
    assert scheds["mom"](0.625) == pytest.approx(0.90)
    assert "mom" not in one_cycle_schedules(1e-2, moms=None)


def _torch_values(make_scheduler, n_steps: int, opt_kwargs: dict) -> tuple[list, list]:
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], **opt_kwargs)
    scheduler = make_scheduler(opt)
    lrs, moms = [], []
    for _ in range(n_steps):
        lrs.append(opt.param_groups[0]["lr"])
        moms.append(opt.param_groups[0]["momentum"])
        opt.step()
        scheduler.step()
    return lrs, moms


def test_one_cycle_matches_torch_one_cycle_lr() -> None:
    # torch reaches the peak at step pct_start*T - 1 and the end at step T - 1, so our progress
    # at torch's step t is t / (T - 1) and our pct_start is (pct_start*T - 1) / (T - 1).
    total, torch_pct, div, div_final = 40, 0.3, 25.0, 1e4
    lrs, moms = _torch_values(
        lambda opt: torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=0.1, total_steps=total, pct_start=torch_pct, anneal_strategy="cos",
            div_factor=div, final_div_factor=div_final / div, base_momentum=0.85,
            max_momentum=0.95,
        ),
        total,
        {"lr": 0.1, "momentum": 0.9},
    )  # fmt: skip
    ours = one_cycle_schedules(
        0.1, div, div_final, (torch_pct * total - 1) / (total - 1), (0.95, 0.85, 0.95)
    )
    pcts = [step / (total - 1) for step in range(total)]
    assert [ours["lr"](pct) for pct in pcts] == pytest.approx(lrs, rel=1e-9)
    assert [ours["mom"](pct) for pct in pcts] == pytest.approx(moms, rel=1e-9)


def test_flat_cos_anneal_matches_torch_cosine_annealing() -> None:
    n_steps, lr, div_final = 30, 0.05, 100.0
    lrs, _ = _torch_values(
        lambda opt: torch.optim.lr_scheduler.CosineAnnealingLR(
            opt, T_max=n_steps, eta_min=lr / div_final
        ),
        n_steps,
        {"lr": lr, "momentum": 0.0},
    )
    no_flat = flat_cos_schedules(lr, div_final, pct_start=0.0)["lr"]
    assert [no_flat(step / n_steps) for step in range(n_steps)] == pytest.approx(lrs, rel=1e-9)
    flat = flat_cos_schedules(lr, div_final, pct_start=0.5)["lr"]
    assert flat(0.0) == flat(0.49) == lr
    assert flat(0.75) == pytest.approx(no_flat(0.5))


def test_sgdr_matches_torch_warm_restarts() -> None:
    n_cycles, cycle_len, cycle_mult, n_iter, lr = 3, 1, 2, 5, 0.1
    n_epoch = sum(cycle_len * cycle_mult**i for i in range(n_cycles))
    n_steps = n_epoch * n_iter
    lrs, _ = _torch_values(
        lambda opt: torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(
            opt, T_0=cycle_len * n_iter, T_mult=cycle_mult
        ),
        n_steps,
        {"lr": lr, "momentum": 0.0},
    )
    ours = sgdr_schedules(lr, n_cycles, cycle_len, cycle_mult)["lr"]
    assert [ours(step / n_steps) for step in range(n_steps)] == pytest.approx(lrs, abs=1e-12)
    assert ours(1 / 7) == lr  # a restart at the start of the second cycle


def test_poly_matches_torch_polynomial_lr() -> None:
    n_steps = 20
    lrs, _ = _torch_values(
        lambda opt: torch.optim.lr_scheduler.PolynomialLR(opt, total_iters=n_steps, power=2.0),
        n_steps,
        {"lr": 0.1, "momentum": 0.0},
    )
    ours = sched_poly(0.1, 0.0, 2.0)
    assert [ours(step / n_steps) for step in range(n_steps)] == pytest.approx(lrs, rel=1e-9)
