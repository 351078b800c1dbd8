"""The `Learner`: a model, its data, a loss and an optimizer, and the training loop that joins them.

The loop reads top to bottom: `fit` runs epochs, an epoch runs a training and a validation phase,
a phase runs batches. Each step is wrapped in `before_*`/`after_*` events that callbacks implement,
and in its own cancel exception (see `lamina.train.callback`). Everything optional (progress,
schedules, mixed precision, logging, ...) is a callback.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence, Sized
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, cast

import torch
from torch import nn

from lamina.core.device import to_device
from lamina.core.reports import TextReport
from lamina.data.loaders import Loaders, check_loaders
from lamina.optim.hyper import set_hyper, spread_lr
from lamina.optim.optimizers import adamw
from lamina.train import callbacks as cb_lib
from lamina.train import inspect as inspect_lib
from lamina.train.callback import (
    EVENTS,
    Callback,
    CallbackError,
    Callbacks,
    CancelBackward,
    CancelBatch,
    CancelEpoch,
    CancelFit,
    CancelStep,
    CancelTrain,
    CancelValidate,
    overrides,
)
from lamina.train.loss_check import LossShapeWatch, default_loss_for
from lamina.train.metric_base import Metrics, as_metric

_CANCELS = (CancelFit, CancelEpoch, CancelTrain, CancelValidate, CancelBatch, CancelBackward,
            CancelStep)  # fmt: skip


def default_splitter(model: nn.Module) -> list[list[nn.Parameter]]:
    """One parameter group holding every parameter."""
    return [list(model.parameters())]


def _registered_optimizer(name: str) -> Callable[..., torch.optim.Optimizer]:
    from lamina.core.registry import lookup

    try:
        return lookup("optimizer", name)
    except KeyError as error:
        raise ValueError(f"opt_func: {error.args[0]}") from None


def _check_moms(moms: Any) -> tuple[float, float, float]:
    if not (
        isinstance(moms, (tuple, list))
        and len(moms) == 3
        and all(isinstance(m, (int, float)) and 0 <= m < 1 for m in moms)
    ):
        raise ValueError(f"moms must be three momentums in [0, 1), got {moms!r}")
    return (float(moms[0]), float(moms[1]), float(moms[2]))


def _listify(items: Any) -> list:
    if items is None:
        return []
    if isinstance(items, (list, tuple)):
        return list(items)
    return [items]


class Learner:
    """Trains `model` on `dls` with `loss_func` and an optimizer made by `opt_func`.

    Args:
        dls: loaders that follow the contract of `lamina.data.Loaders`: an application's
            loaders, or `DataLoaders(train, valid)` around any iterables of batches.
        model: any `nn.Module`; it receives the first `dls.n_inp` items of each batch.
        loss_func: `loss(pred, *targets)`; None infers it from the data (the block's loss, else
            cross-entropy for integer targets and MSE for float targets).
        opt_func: `opt_func(param_groups, lr=..., wd=...)` returning a torch optimizer, or the
            registered name of one (`"adamw"`, `"sgd"`, `"lamb"`, ... see `lamina.optim`).
        lr: default learning rate; `wd`: default weight decay (None: the optimizer's default).
        metrics: functions `metric(pred, targ)`, `Metric` instances or classes, or names.
        cbs: extra callbacks, added to the defaults (recorder, progress, NaN guard).
        splitter: `splitter(model)` returning parameter groups, for freezing and
            discriminative learning rates.
        path: folder under which `save` writes to `path/model_dir`.
        precision: "auto" (default) trains under bfloat16 autocast on CUDA (float16 with loss
            scaling where bfloat16 is missing) and in float32 elsewhere; "float32", "bfloat16"
            or "float16" force one. A `MixedPrecision` among `cbs` takes precedence. Validation
            and `get_preds` run under the same autocast (with float32 outputs); `predict` on
            the applications' learners, and every learner `load_learner` returns, use float32.
        moms: the momentum (Adam's beta1) one-cycle training starts at, falls to while the
            learning rate peaks, and ends at; `fit_one_cycle(moms=...)` overrides it per call.

    Example:
        >>> learn = Learner(dls, model, loss_func=nn.CrossEntropyLoss(), metrics=accuracy)
        >>> learn.fit_one_cycle(3, 1e-2)
        >>> loss, acc = learn.validate()
    """

    # Set by `add_cbs` from the default callbacks, which every learner has.
    recorder: cb_lib.Recorder
    progress: cb_lib.ProgressCallback

    def __init__(
        self,
        dls: Loaders,
        model: nn.Module,
        loss_func: Callable | None = None,
        opt_func: Callable[..., torch.optim.Optimizer] | str = adamw,
        lr: float = 1e-3,
        wd: float | None = None,
        metrics: Metrics = None,
        cbs: Callbacks = None,
        splitter: Callable[[nn.Module], list] = default_splitter,
        path: str | Path = ".",
        model_dir: str = "models",
        compile: bool = False,
        precision: str = "auto",
        moms: tuple[float, float, float] = (0.95, 0.85, 0.95),
    ) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        check_loaders(dls)
        if isinstance(opt_func, str):
            opt_func = _registered_optimizer(opt_func)
        if not callable(opt_func):
            raise TypeError(f"opt_func must be callable, got {opt_func!r}")
        if not (isinstance(lr, (int, float)) and lr > 0):
            raise ValueError(f"lr must be a positive number, got {lr!r}")
        self.dls, self.model, self.opt_func = dls, model, opt_func
        self.loss_func = loss_func
        self.lr, self.wd, self.splitter = lr, wd, splitter
        self.moms = _check_moms(moms)
        self.path, self.model_dir = Path(path), model_dir
        self.metrics = [as_metric(metric) for metric in _listify(metrics)]
        self.compile = compile
        self.opt: torch.optim.Optimizer | None = None
        self.cbs: list[Callback] = []
        # Per event, the callbacks that override it and their bound methods (`_index_events`).
        self._train_handlers: dict[str, list[tuple[Callback, Callable[[], None]]]] = {}
        self._valid_handlers: dict[str, list[tuple[Callback, Callable[[], None]]]] = {}
        self.training, self.in_fit, self._move_batches = False, False, True
        self.epoch, self.n_epoch, self.iter = 0, 0, 0
        self.n_iter: int | None = 0  # None for a loader without a length
        self.train_iter, self.pct_train, self.epochs_done, self.start_epoch = 0, 0.0, 0, 0
        # Training batches done in epoch `epochs_done` (a checkpoint's position within it).
        self.batches_done, self.start_batch = 0, 0
        self.xb: tuple = ()
        self.yb: tuple = ()
        self.pred: Any = None
        self.loss: torch.Tensor | None = None
        self._loss_watch = LossShapeWatch()
        self.export_spec: dict[str, Any] | None = None  # set by application factories
        self.add_cbs([cb_lib.Recorder(), cb_lib.ProgressCallback(), cb_lib.TerminateOnNaN()])
        self.add_cbs(_listify(cbs))
        dtype = cb_lib.resolve_precision(precision, dls.device)
        if dtype is not None and not self._mixed_precision():
            self.add_cbs([cb_lib.MixedPrecision(dtype)])

    # ----------------------------------------------------------------------------- callbacks
    def add_cbs(self, cbs: Iterable[Callback | type[Callback]]) -> Learner:
        """Add callbacks (instances, or classes to instantiate); each is reachable by name."""
        for cb in cbs:
            if isinstance(cb, type):
                cb = cb()
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must subclass lamina.Callback, got {cb!r}")
            if getattr(self, cb.name, None) is not None and not isinstance(
                getattr(self, cb.name), Callback
            ):
                raise ValueError(f"callback name {cb.name!r} clashes with a Learner attribute")
            cb.learn = self
            setattr(self, cb.name, cb)
            self.cbs.append(cb)
        self._index_events()
        return self

    def remove_cbs(self, cbs: Iterable[Callback]) -> Learner:
        """Remove callbacks added earlier."""
        for cb in list(cbs):
            if cb in self.cbs:
                self.cbs.remove(cb)
                if getattr(self, cb.name, None) is cb:
                    delattr(self, cb.name)
        self._index_events()
        return self

    def _mixed_precision(self) -> list[Callback]:
        return [cb for cb in self.cbs if isinstance(cb, cb_lib.MixedPrecision)]

    def to_fp16(self) -> Learner:
        """Train under float16 autocast with loss scaling from now on (replacing any other).

        On the CPU this trains under bfloat16 autocast instead, with a warning (once): float16
        autocast has no fast CPU kernels and runs tens of times slower than float32 there. See
        `MixedPrecision(cpu_float16=...)`."""
        return self._set_precision(torch.float16)

    def to_bf16(self) -> Learner:
        """Train under bfloat16 autocast from now on (replacing any other)."""
        return self._set_precision(torch.bfloat16)

    def to_fp32(self) -> Learner:
        """Train in plain float32 from now on: removes any `MixedPrecision` callback."""
        return self._set_precision(None)

    def _set_precision(self, dtype: torch.dtype | None) -> Learner:
        self.remove_cbs(self._mixed_precision())
        if dtype is not None:
            self.add_cbs([cb_lib.MixedPrecision(dtype)])
        return self

    @contextmanager
    def added_cbs(self, cbs: Callbacks) -> Iterator[Learner]:
        """Context in which `cbs` are added, removed again on exit."""
        added = [cb() if isinstance(cb, type) else cb for cb in _listify(cbs)]
        self.add_cbs(added)
        try:
            yield self
        finally:
            self.remove_cbs(added)

    def _index_events(self) -> None:
        # Each event maps to the bound methods of the callbacks that override it, in order, so a
        # batch costs nothing for callbacks that do not care about it.
        ordered = sorted(self.cbs, key=lambda cb: cb.order)
        self._train_handlers, self._valid_handlers = (
            {
                event: [
                    (cb, getattr(cb, event))
                    for cb in ordered
                    if overrides(cb, event) and (event not in _BATCH_EVENTS or getattr(cb, run))
                ]
                for event in EVENTS
            }
            for run in ("run_train", "run_valid")
        )

    def __call__(self, event: str) -> None:
        """Run `event` on every callback that implements it."""
        handlers = self._train_handlers if self.training else self._valid_handlers
        for cb, handler in handlers[event]:
            try:
                handler()
            except (*_CANCELS, KeyboardInterrupt, CallbackError):
                raise
            except Exception as error:
                _name_culprit(error, cb, event)
                raise

    def _with_events(self, body: Callable[[], None], name: str, cancel: type[Exception]) -> None:
        try:
            self(f"before_{name}")
            body()
        except cancel:
            self(f"after_cancel_{name}")
        self(f"after_{name}")

    # ----------------------------------------------------------------------------- the loop
    def fit(
        self,
        n_epoch: int,
        lr: float | slice | Sequence[float] | None = None,
        wd: float | None = None,
        cbs: Callbacks = None,
        start_epoch: int = 0,
        resume: bool = False,
    ) -> None:
        """Train for `n_epoch` epochs at a constant learning rate (schedules come from callbacks).

        `resume=True` continues the fit a `load`ed checkpoint was saved in, exactly, from the
        batch it was saved at (`learn.epochs_done`, `learn.batches_done`): repeat the same call
        with `resume=True`. The batches already done are not read again where the loader can
        start at a batch (`start_at`, as lamina's training loaders can). `start_epoch` skips
        the first epochs only. A fit that neither resumes nor skips starts its count of
        `epochs_done` at 0.
        """
        if not isinstance(n_epoch, int) or n_epoch < 1:
            raise ValueError(f"n_epoch must be a positive integer, got {n_epoch!r}")
        start_batch = 0
        if resume:
            if start_epoch:
                raise ValueError("give start_epoch or resume=True, not both")
            start_epoch, start_batch = self.epochs_done, self.batches_done
        if not 0 <= start_epoch < n_epoch:
            raise ValueError(f"start_epoch must be in [0, {n_epoch}), got {start_epoch!r}")
        opt = self._prepare()
        if lr is not None:
            set_hyper(opt, "lr", spread_lr(lr, len(opt.param_groups)))
        if wd is not None:
            set_hyper(opt, "wd", wd)
        self.n_epoch, self.start_epoch, self.start_batch = n_epoch, start_epoch, start_batch
        self.epochs_done, self.batches_done = start_epoch, start_batch
        with self.added_cbs(cbs):
            self.in_fit = True
            try:
                with self._interruptible():
                    self._with_events(self._do_fit, "fit", CancelFit)
            finally:
                self.in_fit = False
                self.model.train()

    @contextmanager
    def _interruptible(self) -> Iterator[None]:
        """On an error or Ctrl-C (not a cancel), let callbacks drop half-done state
        (`after_interrupt`), and leave the learner out of any phase."""
        try:
            yield
        except BaseException:
            self.training = False
            for cb in sorted(self.cbs, key=lambda cb: cb.order):
                if overrides(cb, "after_interrupt"):
                    cb.after_interrupt()
            raise

    def _do_fit(self) -> None:
        self.n_iter_train = _checked_len(self.dls.train, "train")
        self.train_iter = self.start_epoch * (self.n_iter_train or 0) + self.start_batch
        for epoch in range(self.start_epoch, self.n_epoch):
            self.epoch = epoch
            self._with_events(self._do_epoch, "epoch", CancelEpoch)
            self.epochs_done, self.batches_done, self.start_batch = epoch + 1, 0, 0

    def _do_epoch(self) -> None:
        self._run_phase(self.dls.train, "train", CancelTrain)
        if self.dls.valid is not None:
            self._run_phase(self.dls.valid, "validate", CancelValidate)
        # Already true in after_epoch, e.g. for checkpoints.
        self.epochs_done, self.batches_done = self.epoch + 1, 0

    def _run_phase(self, dl: Iterable, name: str, cancel: type[Exception]) -> None:
        self.dl, self.n_iter = dl, _checked_len(dl, name)
        # Loaders that already yield batches on the device (as lamina's do) skip the move.
        self._move_batches = getattr(dl, "device", None) != self.dls.device
        self.training = name == "train"
        self.model.train(self.training)
        with torch.set_grad_enabled(self.training):
            self._with_events(self._all_batches, name, cancel)

    def _all_batches(self) -> None:
        n_seen, start = 0, self.start_batch if self.training and self.in_fit else 0
        for index, batch in enumerate(_batches_from(self.dl, start), start=start):
            self.iter = index
            if self.training:
                self.pct_train = (
                    self.train_iter / (self.n_epoch * self.n_iter) if self.n_iter else 0
                )
            self._do_batch(batch)
            n_seen += 1
            if self.training:
                self.train_iter += 1
        if n_seen == 0 and not (start and start == self.n_iter):
            phase = "train" if self.training else "validation"
            raise ValueError(f"the {phase} DataLoader yielded no batches")

    def _do_batch(self, batch: Any) -> None:
        if self._move_batches:
            batch = to_device(batch, self.dls.device)
        if not isinstance(batch, (tuple, list)):
            batch = (batch,)
        n_inp = self.dls.n_inp
        self.xb, self.yb = tuple(batch[:n_inp]), tuple(batch[n_inp:])
        try:
            self._with_events(self._counted_batch, "batch", CancelBatch)
        except BaseException:
            # An error or Ctrl-C mid-batch: callbacks undo per-batch state (autocast, a swapped
            # loss) in after_cancel_batch, so the learner is left usable.
            self("after_cancel_batch")
            raise

    def _counted_batch(self) -> None:
        # A training batch counts as done (for checkpoints written in after_batch) once its
        # step is done or it was cancelled.
        try:
            self._do_one_batch()
        except CancelBatch:
            self._count_batch()
            raise
        self._count_batch()

    def _count_batch(self) -> None:
        if self.training and self.in_fit:
            self.batches_done = self.iter + 1

    def _do_one_batch(self) -> None:
        self.pred = self.model(*self.xb)
        self("after_pred")
        if not self.yb:
            return
        assert self.loss_func is not None, "_prepare settles the loss before any batch"
        self.loss_grad = self._loss_watch(
            self.loss_func, self.pred, self.yb, self.training, self.iter
        )
        self.loss = self.loss_grad.detach()
        self("after_loss")
        if not self.training:
            return
        self._with_events(self._backward, "backward", CancelBackward)
        self._with_events(self._step, "step", CancelStep)

    def _backward(self) -> None:
        self.loss_grad.backward()

    def _step(self) -> None:
        assert self.opt is not None, "_prepare builds the optimizer before any batch"
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)

    # ----------------------------------------------------------------------------- set-up
    def _prepare(self) -> torch.optim.Optimizer:
        """Move the model to the data's device, settle the loss, and build the optimizer once;
        returns the optimizer."""
        device = self.dls.device
        if next(self.model.parameters(), torch.empty(0, device=device)).device != device:
            self.model.to(device)
        if self.compile and not isinstance(self.model, torch._dynamo.eval_frame.OptimizedModule):
            # torch.compile's stub returns a bare callable; for a module it is an OptimizedModule.
            self.model = cast(nn.Module, torch.compile(self.model))
        if self.loss_func is None:
            self.loss_func = default_loss_for(self.dls)
        if self.opt is None:
            return self.create_opt()
        return self.opt

    def create_opt(self) -> torch.optim.Optimizer:
        """Build the optimizer over the splitter's parameter groups."""
        groups = [{"params": list(group)} for group in self.splitter(self.model)]
        if not groups or not any(group["params"] for group in groups):
            raise ValueError("the model has no parameters for the optimizer to train")
        kwargs = {"lr": self.lr} if self.wd is None else {"lr": self.lr, "wd": self.wd}
        self.opt = self.opt_func(groups, **kwargs)
        return self.opt

    def distributed(
        self, seed: int | None = None, **ddp_kwargs: Any
    ) -> AbstractContextManager[Learner]:
        """Context in which fits train with DDP across the processes torchrun started (the batch
        size is per process); outside torchrun, a no-op. See `lamina.train.ddp`."""
        from lamina.train.ddp import distributed

        return distributed(self, seed, **ddp_kwargs)

    # ----------------------------------------------------------------------------- freezing
    def freeze_to(self, n: int) -> None:
        """Freeze parameter groups before index `n` (negative counts from the end).

        Normalization layers stay trainable: their statistics must adapt to the new data.
        """
        groups = self._prepare().param_groups
        frozen = range(len(groups))[: n if n >= 0 else len(groups) + n]
        keep = {id(p) for m in self.model.modules() if isinstance(m, _NORM_TYPES)
                for p in m.parameters(recurse=False)}  # fmt: skip
        for index, group in enumerate(groups):
            for param in group["params"]:
                param.requires_grad_(index not in frozen or id(param) in keep)

    def freeze(self) -> None:
        """Train only the last parameter group (the head), plus normalization layers."""
        self.freeze_to(-1)

    def unfreeze(self) -> None:
        """Train every parameter group."""
        self.freeze_to(0)

    # ----------------------------------------------------------------------------- schedules
    def fit_one_cycle(
        self,
        n_epoch: int,
        lr_max: float | slice | None = None,
        div: float = 25.0,
        div_final: float = 1e5,
        pct_start: float = 0.25,
        wd: float | None = None,
        moms: tuple[float, float, float] | None = None,
        cbs: Callbacks = None,
        start_epoch: int = 0,
        resume: bool = False,
    ) -> None:
        """One-cycle training: LR warms up to `lr_max`, then anneals; momentum mirrors it
        (`moms`: start, lowest, end; default the learner's `moms`)."""
        from lamina.optim.schedules import one_cycle_schedules

        moms = self.moms if moms is None else _check_moms(moms)
        scheds = one_cycle_schedules(self._group_lrs(lr_max), div, div_final, pct_start, moms)
        self.fit(
            n_epoch,
            wd=wd,
            cbs=[cb_lib.ParamScheduler(scheds), *_listify(cbs)],
            start_epoch=start_epoch,
            resume=resume,
        )

    def fit_flat_cos(
        self,
        n_epoch: int,
        lr: float | slice | None = None,
        div_final: float = 1e5,
        pct_start: float = 0.75,
        wd: float | None = None,
        cbs: Callbacks = None,
        start_epoch: int = 0,
        resume: bool = False,
    ) -> None:
        """Flat LR for `pct_start` of training, then cosine annealing to `lr / div_final`."""
        from lamina.optim.schedules import flat_cos_schedules

        scheds = flat_cos_schedules(self._group_lrs(lr), div_final, pct_start)
        self.fit(
            n_epoch,
            wd=wd,
            cbs=[cb_lib.ParamScheduler(scheds), *_listify(cbs)],
            start_epoch=start_epoch,
            resume=resume,
        )

    def fit_sgdr(
        self,
        n_cycles: int,
        cycle_len: int,
        lr_max: float | slice | None = None,
        cycle_mult: int = 2,
        wd: float | None = None,
        cbs: Callbacks = None,
    ) -> None:
        """SGD with warm restarts: `n_cycles` cosine cycles, each `cycle_mult` times longer."""
        from lamina.optim.schedules import sgdr_schedules

        n_epoch = sum(cycle_len * cycle_mult**i for i in range(n_cycles))
        scheds = sgdr_schedules(self._group_lrs(lr_max), n_cycles, cycle_len, cycle_mult)
        self.fit(n_epoch, wd=wd, cbs=[cb_lib.ParamScheduler(scheds), *_listify(cbs)])

    def fine_tune(
        self,
        epochs: int,
        base_lr: float = 2e-3,
        freeze_epochs: int = 1,
        lr_mult: float = 100,
        pct_start: float = 0.3,
        div: float = 5.0,
        wd: float | None = None,
        cbs: Callbacks = None,
    ) -> None:
        """Transfer learning: train the head with the body frozen, then everything with
        discriminative learning rates (`base_lr / lr_mult` for the first group to `base_lr`)."""
        self.freeze()
        self.fit_one_cycle(freeze_epochs, slice(base_lr), pct_start=0.99, wd=wd, cbs=cbs)
        base_lr /= 2
        self.unfreeze()
        self.fit_one_cycle(
            epochs, slice(base_lr / lr_mult, base_lr), pct_start=pct_start, div=div, wd=wd, cbs=cbs
        )

    def lr_find(
        self,
        start_lr: float = 1e-7,
        end_lr: float = 10,
        num_it: int = 100,
        stop_div: bool = True,
        show_plot: bool = True,
    ) -> Any:
        """Sweep the LR exponentially over `num_it` batches; return suggested rates (valley,
        steepest, minimum/10). The model and optimizer are restored exactly afterwards."""
        from lamina.train.lr_find import run_lr_find

        return run_lr_find(self, start_lr, end_lr, num_it, stop_div, show_plot)

    def _group_lrs(self, lr: float | slice | Sequence[float] | None) -> Any:
        opt = self._prepare()
        return spread_lr(self.lr if lr is None else lr, len(opt.param_groups))

    # ----------------------------------------------------------------------------- inspection
    def validate(self, dl: Iterable | None = None, cbs: Callbacks = None) -> list[float]:
        """Validation loss followed by each metric, over `dl` (default: the validation set)."""
        self._prepare()
        dl = self.dls.valid if dl is None else dl
        if dl is None:
            raise ValueError("there is no validation DataLoader to validate on")
        with self.added_cbs(cbs), self._interruptible():
            self._run_phase(dl, "validate", CancelValidate)
        return self.recorder.last_values()

    def get_preds(
        self,
        ds_idx: int = 1,
        dl: Iterable | None = None,
        with_input: bool = False,
        with_decoded: bool = False,
        with_loss: bool = False,
        act: Callable | None = None,
    ) -> tuple:
        """Predictions and targets over a whole loader, in fastai's order:
        `([inputs,] preds, targs[, decoded][, losses])`.

        `act` is applied to predictions; by default it is the loss's activation (softmax for
        cross-entropy, sigmoid for binary cross-entropy), so predictions are probabilities.
        `decoded` is what the loss decodes the raw outputs to (`decodes`): class indices for
        cross-entropy, 0/1 labels (above the loss's threshold) for multi-label, the values
        themselves for regression. `losses` holds each item's loss.

        Example:
            >>> probs, targs, classes = learn.get_preds(with_decoded=True)
        """
        return inspect_lib.get_preds(self, ds_idx, dl, with_input, with_decoded, with_loss, act)

    def one_batch(self, batch: Any = None, train: bool = True) -> torch.Tensor | None:
        """Run one batch through every event (a training step when `train`), to step through in a
        debugger. Returns the loss."""
        self._prepare()
        batch = self.dls.one_batch() if batch is None else batch
        self.training = train
        self.model.train(train)
        with torch.set_grad_enabled(train):
            self._do_batch(batch)
        return self.loss

    def summary(self) -> TextReport:
        """A table of layers, output shapes and parameter counts (trainable or not): a str
        whose repr is the text, so a notebook shows it as a block (`print` it in a script)."""
        self._prepare()
        return TextReport(inspect_lib.summary(self))

    def show_training_loop(self) -> TextReport:
        """Each event in order, with the callbacks that run on it (a str that shows as a block)."""
        return TextReport(inspect_lib.training_loop_text(self))

    # ----------------------------------------------------------------------------- files
    def save(self, name: str, with_opt: bool = True) -> Path:
        """Checkpoint model, optimizer, progress, callback and RNG state to
        `path/model_dir/name.safetensors` (safetensors + JSON, atomic, no pickle)."""
        from lamina.train.checkpoint import save_checkpoint

        self._prepare()
        return save_checkpoint(self, self.path / self.model_dir / f"{name}.safetensors", with_opt)

    def load(self, name: str | Path, with_opt: bool = True, strict: bool = True) -> Learner:
        """Load a checkpoint written by `save` (a name under `path/model_dir`, or a file path)."""
        from lamina.train.checkpoint import load_checkpoint

        self._prepare()
        path = Path(name)
        if not path.suffix:
            path = self.path / self.model_dir / f"{name}.safetensors"
        load_checkpoint(self, path, with_opt, strict)
        return self

    def export(self, path: str | Path = "export.lamina") -> Path:
        """Write weights and the inference recipe to one safe file for `lamina.load_learner`."""
        from lamina.train.export import export_learner

        return export_learner(self, path)


_BATCH_EVENTS = frozenset(
    ("before_batch", "after_pred", "after_loss", "before_backward", "after_backward",
     "before_step", "after_step", "after_batch", "after_cancel_batch", "after_cancel_backward",
     "after_cancel_step")
)  # fmt: skip
_NORM_TYPES = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm)


def _batches_from(dl: Iterable, start: int) -> Iterable:
    """`dl`'s batches from number `start` on: without reading the ones before it where the
    loader can start at a batch, else read and dropped."""
    if not start:
        return dl
    start_at = getattr(dl, "start_at", None)
    if callable(start_at):
        start_at(start)
        return dl
    return itertools.islice(dl, start, None)


def _checked_len(dl: Iterable, which: str) -> int | None:
    if dl is None:
        raise ValueError(f"there is no {which} DataLoader")
    if not isinstance(dl, Sized):
        return None
    if len(dl) == 0:
        raise ValueError(f"the {which} DataLoader is empty (0 batches); check the data and bs")
    return len(dl)


def _name_culprit(error: Exception, cb: Callback, event: str) -> None:
    message = f"raised in callback {type(cb).__name__} during {event}"
    if sys.version_info >= (3, 11):
        error.add_note(message)
    else:  # pragma: no cover - Python 3.10 has no exception notes
        raise CallbackError(f"{message}: {type(error).__name__}: {error}") from error
