"""Hooks on module outputs and gradients, always removed again."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lamina.testing import TinyMLP
from lamina.train.hooks import (
    Hook,
    Hooks,
    first_tensor,
    hook_output,
    hook_outputs,
    layers_with_params,
)


def _no_hooks(model: nn.Module) -> bool:
    return all(not m._forward_hooks and not m._backward_hooks for m in model.modules())


def test_hook_outputs_keeps_each_output_and_removes_itself() -> None:
    model = TinyMLP()
    x = torch.randn(5, 8)
    with hook_outputs([model.body, model.head]) as hooks:
        out = model(x)
        assert not _no_hooks(model)
    assert _no_hooks(model)
    body, head = hooks.stored
    torch.testing.assert_close(body, model.body(x))
    torch.testing.assert_close(head, out)
    assert not head.requires_grad  # detached by default
    assert len(hooks) == 2
    assert all(hook.removed for hook in hooks)


def test_hooks_are_removed_when_the_block_raises() -> None:
    model = TinyMLP()

    def forward_then_fail() -> None:
        with hook_outputs(layers_with_params(model)):
            model(torch.randn(4, 8))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        forward_then_fail()
    assert _no_hooks(model)


def test_a_failed_registration_removes_the_hooks_already_placed() -> None:
    model = TinyMLP()
    with pytest.raises(ValueError, match="needs an nn.Module, got str"):
        Hooks([model.body, "head"], lambda m, i, o: o)  # type: ignore[list-item]
    assert _no_hooks(model)


def test_hook_output_options() -> None:
    layer = nn.Linear(3, 2)
    x = torch.randn(4, 3)
    with hook_output(layer, detach=False, cpu=True) as hook:
        out = layer(x)
    assert hook.stored.requires_grad
    assert hook.stored.device.type == "cpu"
    torch.testing.assert_close(hook.stored, out)
    assert "removed" in repr(hook)
    hook.remove()  # a second removal is a no-op


def test_gradient_hooks_keep_the_gradient_of_the_output() -> None:
    model = TinyMLP()
    x = torch.randn(6, 8)
    with hook_output(model.head, grad=True) as hook:
        out = model(x)
        out.square().sum().backward()
    torch.testing.assert_close(hook.stored, 2 * out.detach())
    assert _no_hooks(model)


def test_a_hook_keeps_what_its_function_returns() -> None:
    layer = nn.Linear(3, 2)
    with Hook(layer, lambda m, i, o: o.shape) as hook:
        layer(torch.randn(7, 3))
    assert hook.stored == (7, 2)


def test_layers_with_params_and_first_tensor() -> None:
    model = TinyMLP()
    assert layers_with_params(model) == [model.body[0], model.body[1], model.head]
    single = nn.Linear(2, 2)
    assert layers_with_params(single) == [single]
    lstm = nn.LSTM(3, 4, batch_first=True)
    output = lstm(torch.randn(2, 5, 3))
    assert first_tensor(output) is output[0]
    assert first_tensor(("no", [None])) is None
