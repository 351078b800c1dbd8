"""Looking inside a Learner: gathered predictions, a layer summary, the training loop's events."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from lamina.core.device import detach_cpu
from lamina.core.modules import eval_mode
from lamina.data.loaders import loader_at
from lamina.train.callback import EVENTS, Callback, CancelValidate
from lamina.train.loss_check import activation_for, decodes_for

if TYPE_CHECKING:
    from lamina.train.learner import Learner


class GatherPreds(Callback):
    """Collects predictions, targets, inputs and per-item losses during a validation pass."""

    order = 100
    run_train = False

    def __init__(self, with_input: bool, with_loss: bool) -> None:
        self.with_input, self.with_loss = with_input, with_loss
        self.preds: list = []
        self.targs: list = []
        self.inputs: list = []
        self.losses: list = []

    def after_pred(self) -> None:
        learn = self.learn
        self.preds.append(detach_cpu(learn.pred))
        if learn.yb:
            self.targs.append(detach_cpu(learn.yb[0] if len(learn.yb) == 1 else learn.yb))
        if self.with_input:
            self.inputs.append(detach_cpu(learn.xb[0] if len(learn.xb) == 1 else learn.xb))
        if self.with_loss and learn.yb:
            assert learn.loss_func is not None, "get_preds settles the loss before any batch"
            self.losses.append(per_item_loss(learn.loss_func, learn.pred, learn.yb).cpu())


def per_item_loss(loss_func: Callable, pred: torch.Tensor, yb: tuple) -> torch.Tensor:
    """The loss of each item in the batch (`reduction='none'`), averaged over any other axes."""
    if hasattr(loss_func, "reduction"):
        saved = loss_func.reduction
        loss_func.reduction = "none"
        try:
            losses = loss_func(pred, *yb)
        finally:
            loss_func.reduction = saved
    else:
        losses = loss_func(pred, *yb, reduction="none")
    return losses.detach().reshape(len(losses), -1).mean(dim=1) if losses.ndim > 1 else losses


def _cat(items: list) -> Any:
    if not items:
        return None
    if isinstance(items[0], torch.Tensor):
        return torch.cat(items)
    return type(items[0])(_cat(list(parts)) for parts in zip(*items, strict=True))


def get_preds(
    learn: Learner,
    ds_idx: int,
    dl: Iterable | None,
    with_input: bool,
    with_decoded: bool,
    with_loss: bool,
    act: Callable | None,
) -> tuple:
    """See `Learner.get_preds`."""
    learn._prepare()
    loader = loader_at(learn.dls, ds_idx) if dl is None else dl
    if ds_idx == 0 and loader is learn.dls.train and hasattr(loader, "new"):
        loader = loader.new(shuffle=False, drop_last=False)
    gather = GatherPreds(with_input, with_loss)
    with learn.added_cbs([gather]):
        learn._run_phase(loader, "validate", CancelValidate)
    raw = _cat(gather.preds)
    assert learn.loss_func is not None, "_prepare settles the loss"
    act = act or activation_for(learn.loss_func)
    preds = act(raw) if act is not None and raw is not None else raw
    # The order is fastai's: inputs first, decoded after the targets, losses last.
    result = [_cat(gather.inputs)] if with_input else []
    result += [preds, _cat(gather.targs)]
    if with_decoded:
        decodes = decodes_for(learn.loss_func)
        result.append(decodes(raw) if decodes is not None and raw is not None else preds)
    if with_loss:
        result.append(_cat(gather.losses))
    return tuple(result)


def summary(learn: Learner) -> str:
    """See `Learner.summary`."""
    rows: list[tuple[str, str, int, bool]] = []

    def hook(module: nn.Module, _inputs: Any, output: Any) -> None:
        shape = tuple(output.shape) if isinstance(output, torch.Tensor) else type(output).__name__
        params = list(module.parameters(recurse=False))
        count = sum(p.numel() for p in params)
        trainable = any(p.requires_grad for p in params) if params else False
        rows.append((type(module).__name__, str(shape), count, trainable))

    leaves = [m for m in learn.model.modules() if not list(m.children())]
    handles = [m.register_forward_hook(hook) for m in leaves]
    try:
        batch = learn.dls.one_batch()
        batch = batch if isinstance(batch, (tuple, list)) else (batch,)
        with eval_mode(learn.model) as model, torch.no_grad():
            model(*batch[: learn.dls.n_inp])
    finally:
        for handle in handles:
            handle.remove()
    total = sum(p.numel() for p in learn.model.parameters())
    trainable = sum(p.numel() for p in learn.model.parameters() if p.requires_grad)
    lines = [
        f"{type(learn.model).__name__} (input batch: {_shape_of(batch[0])})",
        f"{'layer':<24}{'output shape':<28}{'params':>12}  trainable",
        "-" * 74,
    ]
    lines += [f"{name:<24}{shape:<28}{count:>12,}  {trainable}"
              for name, shape, count, trainable in rows]  # fmt: skip
    lines += ["-" * 74, f"total params: {total:,}", f"trainable params: {trainable:,}",
              f"frozen params: {total - trainable:,}",
              f"optimizer: {type(learn.opt).__name__}, loss: {_loss_text(learn.loss_func)}",
              f"callbacks: {', '.join(type(cb).__name__ for cb in learn.cbs)}"]  # fmt: skip
    return "\n".join(lines)


def _shape_of(value: Any) -> str:
    return str(tuple(value.shape)) if isinstance(value, torch.Tensor) else type(value).__name__


def _loss_text(loss_func: Any) -> str:
    return getattr(loss_func, "__name__", type(loss_func).__name__)


def training_loop_text(learn: Learner) -> str:
    """See `Learner.show_training_loop`."""
    lines = []
    for event in EVENTS:
        if event.startswith("after_cancel"):
            continue
        cbs = [type(cb).__name__ for cb, _ in learn._train_handlers[event]]
        lines.append(f"{event:<18}{', '.join(cbs) if cbs else '-'}")
    return "\n".join(lines)
