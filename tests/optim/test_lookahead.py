"""`Lookahead`: slow weights every k steps, shared parameter groups, and its state dict."""

from __future__ import annotations

import copy

import pytest
import torch

from lamina.optim.hyper import get_hyper, set_hyper
from lamina.optim.lookahead import Lookahead


def _grads(n_steps: int, shape=(4,)) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(2)
    return [torch.randn(shape, generator=generator) for _ in range(n_steps)]


def test_slow_weights_move_every_k_steps_by_alpha() -> None:
    k, alpha, lr = 3, 0.4, 0.1
    start = torch.tensor([1.0, -2.0, 0.5, 3.0])
    param = torch.nn.Parameter(start.clone())
    opt = Lookahead(torch.optim.SGD([param], lr=lr), k=k, alpha=alpha)
    slow, fast = start.clone(), start.clone()
    for step, grad in enumerate(_grads(7), start=1):
        param.grad = grad
        opt.step()
        fast = fast - lr * grad
        if step % k == 0:
            slow = slow + alpha * (fast - slow)
            fast = slow.clone()
        torch.testing.assert_close(param.detach(), fast)
    assert opt.param_groups[0]["lookahead_step"] == 7


def test_param_groups_and_state_are_the_inner_optimizers() -> None:
    params = [torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(3))]
    inner = torch.optim.AdamW([{"params": [params[0]]}, {"params": [params[1]]}], lr=1e-3)
    opt = Lookahead(inner)
    assert opt.param_groups is inner.param_groups
    set_hyper(opt, "lr", [0.1, 0.2])
    set_hyper(opt, "mom", 0.8)
    assert [group["lr"] for group in inner.param_groups] == [0.1, 0.2]
    assert get_hyper(opt, "mom") == [0.8, 0.8]
    for param in params:
        param.grad = torch.ones_like(param)
    opt.step()
    assert opt.state is inner.state
    assert len(opt.state) == 2
    opt.zero_grad()
    assert all(param.grad is None for param in params)


def test_state_dict_round_trip_continues_identically() -> None:
    param = torch.nn.Parameter(torch.arange(4.0))
    opt = Lookahead(torch.optim.Adam([param], lr=0.1), k=4, alpha=0.5)
    grads = _grads(11)
    for grad in grads[:6]:
        param.grad = grad
        opt.step()
    state = copy.deepcopy(opt.state_dict())
    assert set(state) == {"state", "param_groups"}
    assert set(state["state"][0]) == {"step", "exp_avg", "exp_avg_sq", "lookahead_slow"}
    assert state["param_groups"][0]["lookahead_step"] == 6
    other_param = torch.nn.Parameter(param.detach().clone())
    other = Lookahead(torch.optim.Adam([other_param], lr=0.5), k=4, alpha=0.5)
    other.load_state_dict(state)
    assert other.param_groups[0]["lr"] == 0.1
    for grad in grads[6:]:
        param.grad, other_param.grad = grad, grad.clone()
        opt.step()
        other.step()
    assert torch.equal(param, other_param)


def test_arguments_are_validated() -> None:
    inner = torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.1)
    with pytest.raises(ValueError, match="k must be a positive integer, got 0"):
        Lookahead(inner, k=0)
    with pytest.raises(ValueError, match=r"alpha must be in \(0, 1\], got 1.5"):
        Lookahead(inner, alpha=1.5)
    with pytest.raises(ValueError, match="inner must be a torch optimizer"):
        Lookahead(object())
