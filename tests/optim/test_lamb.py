"""`Lamb` against a plain per-parameter implementation of the LAMB update."""

from __future__ import annotations

import math

import pytest
import torch

from lamina.optim.lamb import Lamb


def reference_lamb(params, grads_per_step, lr, betas, eps, weight_decay):
    """LAMB written out one tensor and one step at a time, in float64."""
    weights = [param.detach().double().clone() for param in params]
    m = [torch.zeros_like(w) for w in weights]
    v = [torch.zeros_like(w) for w in weights]
    steps = [0] * len(weights)
    beta1, beta2 = betas
    for grads in grads_per_step:
        for i, grad in enumerate(grads):
            if grad is None:
                continue
            grad = grad.double()
            steps[i] += 1
            m[i] = beta1 * m[i] + (1 - beta1) * grad
            v[i] = beta2 * v[i] + (1 - beta2) * grad * grad
            m_hat = m[i] / (1 - beta1 ** steps[i])
            v_hat = v[i] / (1 - beta2 ** steps[i])
            update = m_hat / (v_hat.sqrt() + eps) + weight_decay * weights[i]
            w_norm, u_norm = weights[i].norm().item(), update.norm().item()
            trust = w_norm / u_norm if w_norm > 0 and u_norm > 0 else 1.0
            weights[i] = weights[i] - lr * trust * update
    return weights


def _grads(shapes, n_steps, skip=None):
    generator = torch.Generator().manual_seed(3)
    steps = []
    for step in range(n_steps):
        grads = [torch.randn(shape, generator=generator) for shape in shapes]
        if skip is not None and step % 2 == 1:
            grads[skip] = None  # this tensor gets no gradient every other step
        steps.append(grads)
    return steps


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_lamb_matches_reference(weight_decay) -> None:
    shapes = [(5, 4), (4,), (3, 2)]
    generator = torch.Generator().manual_seed(0)
    params = [torch.nn.Parameter(torch.randn(shape, generator=generator)) for shape in shapes]
    with torch.no_grad():
        params[1].zero_()  # a zero bias: trust ratio 1 on its first step
    grads_per_step = _grads(shapes, 6, skip=2)
    expected = reference_lamb(params, grads_per_step, 0.02, (0.9, 0.99), 1e-6, weight_decay)
    opt = Lamb(params, lr=0.02, betas=(0.9, 0.99), eps=1e-6, weight_decay=weight_decay)
    for grads in grads_per_step:
        for param, grad in zip(params, grads, strict=True):
            param.grad = grad
        opt.step()
    for param, reference in zip(params, expected, strict=True):
        torch.testing.assert_close(param.detach().double(), reference, rtol=1e-5, atol=1e-6)
    assert opt.state[params[2]]["step"] == 3
    assert opt.state[params[0]]["step"] == 6


def test_each_step_has_norm_lr_times_weight_norm() -> None:
    param = torch.nn.Parameter(torch.full((10,), 2.0))
    opt = Lamb([param], lr=0.1, weight_decay=0.0)
    param.grad = torch.randn(10)
    before = param.detach().clone()
    opt.step()
    assert (param.detach() - before).norm().item() == pytest.approx(0.1 * before.norm().item())


def test_closure_loss_is_returned() -> None:
    param = torch.nn.Parameter(torch.ones(3))
    opt = Lamb([param], lr=0.01)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = (param**2).sum()
        loss.backward()
        return loss

    assert opt.step(closure).item() == pytest.approx(3.0)
    assert param.detach().norm().item() == pytest.approx(math.sqrt(3) * 0.99, rel=1e-5)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lr": -1.0}, "lr must be non-negative, got -1.0"),
        ({"betas": (0.9, 1.0)}, r"betas must be two numbers in \[0, 1\)"),
        ({"eps": -1e-8}, "eps must be non-negative"),
        ({"weight_decay": -0.1}, "weight_decay must be non-negative"),
    ],
)
def test_arguments_are_validated(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        Lamb([torch.nn.Parameter(torch.ones(2))], **kwargs)
