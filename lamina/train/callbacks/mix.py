"""`MixUp` and `CutMix`: train on blends of pairs of samples, with the loss blended to match."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from lamina.train.callback import Callback
from lamina.train.loss_check import loss_name


class MixedLoss:
    """`lam * loss(pred, *targets) + (1 - lam) * loss(pred, *targets[perm])`.

    Works with any loss taking `(pred, targ)`, whatever its reduction (the blend is taken
    element-wise), and with integer class targets, which are never blended themselves.
    """

    def __init__(self, loss_func: Callable, lam: float, perm: torch.Tensor) -> None:
        self.loss_func, self.lam, self.perm = loss_func, lam, perm
        self.__name__ = f"mixed {loss_name(loss_func)}"

    def __call__(self, pred: torch.Tensor, *targets: torch.Tensor) -> torch.Tensor:
        shuffled = [targ[self.perm] for targ in targets]
        loss = self.loss_func(pred, *targets)
        return self.lam * loss + (1 - self.lam) * self.loss_func(pred, *shuffled)


class _MixCallback(Callback):
    """Shared machinery: draw lambda, mix the inputs, swap in a `MixedLoss` for the batch."""

    order = 15
    run_valid = False

    def __init__(self, alpha: float) -> None:
        if not isinstance(alpha, (int, float)) or not 0 < alpha < math.inf:
            raise ValueError(f"alpha must be a positive finite number, got {alpha!r}")
        self.alpha = float(alpha)
        self._loss_func: Callable | None = None
        self.lam: float | None = None
        self.perm: torch.Tensor | None = None

    def before_batch(self) -> None:
        learn = self.learn
        self._restore()  # in case an earlier batch ended in an exception before `after_loss`
        if not learn.yb:
            return
        lam = float(torch.distributions.Beta(self.alpha, self.alpha).sample())
        batch_size = len(learn.xb[0])
        self.perm = torch.randperm(batch_size, device=learn.xb[0].device)
        learn.xb, self.lam = self.mix(learn.xb, lam, self.perm)
        assert learn.loss_func is not None, "fit settles the loss before any batch"
        self._loss_func = learn.loss_func
        learn.loss_func = MixedLoss(learn.loss_func, self.lam, self.perm)

    def mix(self, xb: tuple, lam: float, perm: torch.Tensor) -> tuple[tuple, float]:
        """Blend each floating-point input with `input[perm]`; return the inputs and the lambda
        the loss should use."""
        raise NotImplementedError

    def _restore(self) -> None:
        if self._loss_func is not None:
            self.learn.loss_func, self._loss_func = self._loss_func, None

    # The loss is restored as soon as it has been computed, and again at every later boundary, so
    # an exception in the middle of a batch cannot leave the mixed loss behind for validation.
    def after_loss(self) -> None:
        self._restore()

    def before_fit(self) -> None:
        self._restore()

    def before_validate(self) -> None:
        self._restore()

    def after_cancel_batch(self) -> None:
        self._restore()

    def after_batch(self) -> None:
        self._restore()

    def after_fit(self) -> None:
        self._restore()


class MixUp(_MixCallback):
    """MixUp: each training batch becomes `lam * x + (1 - lam) * x[perm]`, lam ~ Beta(alpha,
    alpha) drawn per batch, and the loss `lam * loss(pred, y) + (1 - lam) * loss(pred, y[perm])`.

    Only floating-point inputs are blended (token ids and category codes are left alone).
    Validation is untouched.

    Args:
        alpha: the Beta distribution's parameter; small values keep samples nearly pure.
    """

    def __init__(self, alpha: float = 0.4) -> None:
        super().__init__(alpha)

    def mix(self, xb: tuple, lam: float, perm: torch.Tensor) -> tuple[tuple, float]:
        mixed = tuple(
            torch.lerp(x[perm], x, lam) if x.is_floating_point() else x for x in xb
        )  # lerp(a, b, w) = a + w * (b - a) = lam * x + (1 - lam) * x[perm]
        return mixed, lam


class CutMix(_MixCallback):
    """CutMix: pastes a box from a shuffled copy of the batch into each sample, and blends the
    loss by the area kept: lam = 1 - box area / total area.

    The box spans the last two dimensions of inputs with at least three (`(B, C, H, W)`,
    `(B, H, W)`) and a window of the last dimension of `(B, L)` inputs. Its size follows
    lam ~ Beta(alpha, alpha), its centre is uniform, and it is clipped at the edges.

    Args:
        alpha: the Beta distribution's parameter (1.0: box areas uniform).
    """

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__(alpha)

    def mix(self, xb: tuple, lam: float, perm: torch.Tensor) -> tuple[tuple, float]:
        x = xb[0]
        if x.ndim < 2 or not x.is_floating_point():
            raise ValueError(
                f"CutMix needs floating-point inputs of shape (B, L) or (B, ..., H, W), "
                f"got {x.dtype} of shape {tuple(x.shape)}"
            )
        sizes = x.shape[-2:] if x.ndim >= 3 else x.shape[-1:]
        box = self.box(sizes, lam)
        region = (..., *(slice(start, stop) for start, stop in box))
        x = x.clone()
        x[region] = x[perm][region]
        area = math.prod(stop - start for start, stop in box)
        return (x, *xb[1:]), 1 - area / math.prod(sizes)

    @staticmethod
    def box(sizes: torch.Size, lam: float) -> list[tuple[int, int]]:
        """A box of about `1 - lam` of the area, `(start, stop)` per dimension, clipped."""
        frac = (1 - lam) ** (1 / len(sizes))  # each side shrinks by the same ratio
        box = []
        for size in sizes:
            length = int(round(size * frac))
            centre = int(torch.randint(size, ()))
            box.append((max(centre - length // 2, 0), min(centre + length - length // 2, size)))
        return box
