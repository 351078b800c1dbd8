"""Optimizer factories: equal to torch.optim step for step, registered, reachable through
`get_hyper`/`set_hyper`, able to train, and with state dicts that round-trip."""

from __future__ import annotations

import json

import pytest
import torch

from lamina.core.registry import lookup
from lamina.core.state import join_state, split_state
from lamina.optim import Lamb, Lookahead, adam, adamw, get_hyper, lamb, ranger, rmsprop, sgd
from lamina.optim.hyper import set_hyper
from lamina.testing import tiny_learner

FACTORIES = {"sgd": sgd, "adam": adam, "adamw": adamw, "rmsprop": rmsprop, "lamb": lamb,
             "ranger": ranger}  # fmt: skip


def _params(seed: int = 0) -> list[torch.nn.Parameter]:
    generator = torch.Generator().manual_seed(seed)
    return [torch.nn.Parameter(torch.randn(shape, generator=generator)) for shape in ((4, 3), (3,))]


def _groups(params: list[torch.nn.Parameter]) -> list[dict]:
    return [{"params": [params[0]]}, {"params": [params[1]], "lr": 0.05}]


def _run(opt: torch.optim.Optimizer, params: list[torch.nn.Parameter], n_steps: int) -> None:
    generator = torch.Generator().manual_seed(1)
    for _ in range(n_steps):
        for param in params:
            param.grad = torch.randn(param.shape, generator=generator)
        opt.step()


REFERENCES = [
    ("sgd", {"mom": 0.8, "wd": 0.01}, torch.optim.SGD, {"momentum": 0.8, "weight_decay": 0.01}),
    ("sgd", {"mom": 0.8, "nesterov": True}, torch.optim.SGD, {"momentum": 0.8, "nesterov": True}),
    ("adam", {"wd": 0.01}, torch.optim.Adam,
     {"betas": (0.9, 0.99), "eps": 1e-5, "weight_decay": 0.01}),
    ("adamw", {}, torch.optim.AdamW, {"betas": (0.9, 0.99), "eps": 1e-5, "weight_decay": 0.01}),
    ("rmsprop", {"mom": 0.5, "wd": 0.01}, torch.optim.RMSprop,
     {"alpha": 0.99, "eps": 1e-8, "momentum": 0.5, "weight_decay": 0.01}),
]  # fmt: skip


CASES = [(*case, impl) for case in REFERENCES for impl in ("auto", "foreach", "loop", "fused")
         if not (case[0] == "rmsprop" and impl == "fused")]  # fmt: skip


@pytest.mark.parametrize(("name", "kwargs", "torch_class", "torch_kwargs", "impl"), CASES)
def test_factories_equal_torch_step_for_step(name, kwargs, torch_class, torch_kwargs, impl) -> None:
    ours, theirs = _params(), _params()
    opt = FACTORIES[name](_groups(ours), lr=0.1, impl=impl, **kwargs)
    reference = torch_class(_groups(theirs), lr=0.1, **torch_kwargs)
    _run(opt, ours, 5)
    _run(reference, theirs, 5)
    for mine, expected in zip(ours, theirs, strict=True):
        torch.testing.assert_close(mine, expected, rtol=1e-6, atol=1e-7)


def test_impl_is_validated() -> None:
    with pytest.raises(ValueError, match=r"impl must be one of .*'fused'.*got 'cuda'"):
        sgd(_params(), lr=0.1, impl="cuda")
    with pytest.raises(ValueError, match=r"impl must be one of \('auto', 'foreach', 'loop'\)"):
        rmsprop(_params(), lr=0.1, impl="fused")


@pytest.mark.parametrize("name", ["sgd", "adam", "adamw"])
def test_auto_takes_fused_kernels_only_where_torch_has_them(name) -> None:
    assert FACTORIES[name](_groups(_params()), lr=0.1).defaults["fused"]
    # An integer tensor among the parameters rules the fused kernels out.
    groups = [{"params": _params()}, {"params": [torch.zeros(3, dtype=torch.long)]}]
    opt = FACTORIES[name](groups, lr=0.1)
    assert not opt.defaults["fused"]
    assert opt.defaults["foreach"]


@pytest.mark.parametrize("name", FACTORIES)
def test_factories_are_registered(name) -> None:
    assert lookup("optimizer", name) is FACTORIES[name]


@pytest.mark.parametrize("name", FACTORIES)
def test_hyper_parameters_reach_every_optimizer(name) -> None:
    opt = FACTORIES[name](_groups(_params()), lr=0.1, wd=0.02)
    assert get_hyper(opt, "lr") == [0.1, 0.05]
    assert get_hyper(opt, "wd") == [0.02, 0.02]
    set_hyper(opt, "lr", [0.3, 0.4])
    set_hyper(opt, "mom", 0.7)
    assert get_hyper(opt, "lr") == [0.3, 0.4]
    assert get_hyper(opt, "mom") == [0.7, 0.7]
    if name not in ("sgd", "rmsprop"):
        set_hyper(opt, "sqr_mom", 0.95)
        assert get_hyper(opt, "sqr_mom") == [0.95, 0.95]


def test_ranger_is_radam_inside_lookahead() -> None:
    opt = ranger(_params(), lr=1e-3, k=5, alpha=0.4)
    assert isinstance(opt, Lookahead)
    assert isinstance(opt.inner, torch.optim.RAdam)
    assert (opt.k, opt.alpha) == (5, 0.4)
    assert opt.param_groups[0]["decoupled_weight_decay"] is True
    assert isinstance(lamb(_params(), lr=1e-3), Lamb)


@pytest.mark.parametrize(
    ("name", "lr", "n_epoch"),
    [("sgd", 0.1, 3), ("adam", 1.0, 4), ("adamw", 1.0, 4), ("rmsprop", 0.3, 4), ("lamb", 0.5, 4),
     ("ranger", 1.0, 4)],
)  # fmt: skip
def test_every_optimizer_trains_the_tiny_learner(name, lr, n_epoch) -> None:
    learn = tiny_learner(opt_func=FACTORIES[name])
    start = learn.validate()[0]
    learn.fit_one_cycle(n_epoch, lr)
    loss = learn.validate()[0]
    assert start > 10
    assert loss < 0.05  # the data's noise alone gives 0.01
    assert learn.model.a.item() == pytest.approx(2.0, abs=0.2)
    assert learn.model.b.item() == pytest.approx(3.0, abs=0.2)


@pytest.mark.parametrize("name", FACTORIES)
def test_state_dict_round_trip_continues_identically(name) -> None:
    params = _params()
    opt = FACTORIES[name](_groups(params), lr=0.01)
    _run(opt, params, 8)
    # through the checkpoint format: JSON for plain values, a flat map for tensors
    tensors: dict[str, torch.Tensor] = {}
    plain = json.loads(json.dumps(split_state(opt.state_dict(), "opt", tensors)))
    state = join_state(plain, {key: value.clone() for key, value in tensors.items()})
    copies = [torch.nn.Parameter(param.detach().clone()) for param in params]
    other = FACTORIES[name](_groups(copies), lr=0.5)
    other.load_state_dict(state)
    assert get_hyper(other, "lr") == get_hyper(opt, "lr")
    _run(opt, params, 7)
    _run(other, copies, 7)
    for mine, expected in zip(copies, params, strict=True):
        assert torch.equal(mine, expected)
