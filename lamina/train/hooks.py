"""Hooks: run a function on what a module outputs (or on its gradients), and keep the result.

A `Hook` wraps one PyTorch hook handle; `Hooks` holds one per module. Both are context managers
that remove their handles on leaving the block, even on an error, so a model is never left with
stray hooks.

Example:
    >>> with hook_outputs([model.body, model.head]) as hooks:
    ...     model(xb)
    >>> [out.shape for out in hooks.stored]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

# func(module, inputs, outputs) -> what to keep; for a backward hook, (module, grad_inputs,
# grad_outputs).
HookFunc = Callable[[nn.Module, Any, Any], Any]


class Hook:
    """Calls `func(module, inputs, output)` after every forward of `module` and keeps what it
    returns in `stored`; with `backward=True`, `func(module, grad_inputs, grad_outputs)` after
    every backward through it.

    Remove it with `remove()` or by using it as a context manager.
    """

    def __init__(self, module: nn.Module, func: HookFunc, backward: bool = False) -> None:
        if not isinstance(module, nn.Module):
            raise ValueError(f"a hook needs an nn.Module, got {type(module).__name__}")
        self.module, self.func, self.backward = module, func, backward
        self.stored: Any = None
        register = module.register_full_backward_hook if backward else module.register_forward_hook
        self._handle: RemovableHandle | None = register(self._call)

    def _call(self, module: nn.Module, inputs: Any, outputs: Any) -> None:
        self.stored = self.func(module, inputs, outputs)

    @property
    def removed(self) -> bool:
        """Whether the hook is gone from its module."""
        return self._handle is None

    def remove(self) -> None:
        """Take the hook off its module (again: a no-op)."""
        if self._handle is not None:
            self._handle.remove()
            self._handle = None

    def __enter__(self) -> Hook:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.remove()

    def __repr__(self) -> str:
        kind = "backward" if self.backward else "forward"
        state = ", removed" if self.removed else ""
        return f"Hook({type(self.module).__name__}, {kind}{state})"


class Hooks:
    """One `Hook` with the same `func` on each of `modules`; `stored` lists their results.

    If registering on one module fails, those already registered are removed before the error
    propagates.
    """

    def __init__(
        self, modules: Iterable[nn.Module], func: HookFunc, backward: bool = False
    ) -> None:
        self.hooks: list[Hook] = []
        try:
            for module in modules:
                self.hooks.append(Hook(module, func, backward))
        except BaseException:
            self.remove()
            raise

    def __len__(self) -> int:
        return len(self.hooks)

    def __getitem__(self, index: int) -> Hook:
        return self.hooks[index]

    def __iter__(self) -> Iterator[Hook]:
        return iter(self.hooks)

    @property
    def stored(self) -> list[Any]:
        """What each hook kept from its module's latest call, in module order."""
        return [hook.stored for hook in self.hooks]

    def remove(self) -> None:
        """Take every hook off its module."""
        for hook in self.hooks:
            hook.remove()

    def __enter__(self) -> Hooks:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.remove()

    def __repr__(self) -> str:
        return f"Hooks({len(self.hooks)} modules)"


def _kept(value: Any, detach: bool, cpu: bool) -> Any:
    if isinstance(value, torch.Tensor):
        value = value.detach() if detach else value
        return value.cpu() if cpu else value
    if isinstance(value, (tuple, list)):
        return type(value)(_kept(item, detach, cpu) for item in value)
    return value


def _output_keeper(detach: bool, cpu: bool, grad: bool) -> HookFunc:
    def keep(_module: nn.Module, inputs: Any, outputs: Any) -> Any:
        # A backward hook's outputs are the gradients with respect to the module's output.
        value = outputs[0] if grad and isinstance(outputs, tuple) and len(outputs) == 1 else outputs
        return _kept(value, detach, cpu)

    return keep


def hook_output(
    module: nn.Module, detach: bool = True, cpu: bool = False, grad: bool = False
) -> Hook:
    """A `Hook` that keeps `module`'s output (with `grad=True`: the gradient of the loss with
    respect to it), detached unless `detach=False`, moved to the CPU with `cpu=True`."""
    return Hook(module, _output_keeper(detach, cpu, grad), backward=grad)


def hook_outputs(
    modules: Iterable[nn.Module], detach: bool = True, cpu: bool = False, grad: bool = False
) -> Hooks:
    """`hook_output` on each of `modules`; use it as a context manager so the hooks go again.

    Example:
        >>> with hook_outputs(layers_with_params(model)) as hooks:
        ...     model(xb)
        >>> means = [out.mean() for out in hooks.stored]
    """
    return Hooks(modules, _output_keeper(detach, cpu, grad), backward=grad)


def layers_with_params(model: nn.Module) -> list[nn.Module]:
    """The leaf modules of `model` (those without children) that hold parameters, in definition
    order: its `Linear`, `Conv`, `BatchNorm`, `Embedding`... layers, or the model itself when it
    is a single layer."""
    return [m for m in model.modules() if _is_leaf(m) and next(m.parameters(), None) is not None]


def _is_leaf(module: nn.Module) -> bool:
    return next(module.children(), None) is None


def first_tensor(value: Any) -> torch.Tensor | None:
    """`value` if it is a tensor, else the first tensor inside a tuple or list of them (an LSTM's
    `(output, (h, c))` gives `output`); None if there is none."""
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, (tuple, list)):
        for item in value:
            found = first_tensor(item)
            if found is not None:
                return found
    return None
