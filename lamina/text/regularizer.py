"""`RNNRegularizer`: AWD-LSTM's activation regularization (AR) and temporal AR (TAR).

Merity et al. (2017, arXiv:1708.02182, section 4.6) add two penalties to the training loss of
an AWD-LSTM: `alpha` times the mean square of the last layer's output after dropout (AR: keep
activations small) and `beta` times the mean square of its step-to-step change before dropout
(TAR: keep them slow to change). fastai's text learners add both, with alpha 2 and beta 1, to
every AWD-LSTM language model and classifier; lamina's do the same.

The callback reads the outputs with forward hooks: the encoder's output (raw) and, in a
language model, the output dropout's result (dropped). A classifier has no output dropout
between its encoder and its pooling, so there the raw output serves for both, as in fastai.
Only outputs that carry gradients count (a classifier reads early windows of long documents
without them). The recorded loss stays the task's loss alone, so perplexity stays perplexity.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from lamina.core.modules import unwrap_model
from lamina.models.awd_lstm import AWDLSTM
from lamina.train.callback import Callback


class RNNRegularizer(Callback):
    """Adds `alpha * mean(dropped ** 2) + beta * mean((raw[:, 1:] - raw[:, :-1]) ** 2)` to the
    training loss of a model with an AWD-LSTM `encoder` (a no-op for other models).

    Args:
        alpha: weight of activation regularization on the dropped last-layer outputs.
        beta: weight of temporal activation regularization on the raw last-layer outputs.
    """

    run_valid = False

    def __init__(self, alpha: float = 2.0, beta: float = 1.0) -> None:
        for name, value in (("alpha", alpha), ("beta", beta)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"{name} must be a non-negative number, got {value!r}")
        self.alpha, self.beta = float(alpha), float(beta)
        self._raw: list[torch.Tensor] = []
        self._dropped: list[torch.Tensor] = []
        self._handles: list[Any] = []

    def before_fit(self) -> None:
        self._remove_hooks()
        model = unwrap_model(self.learn.model)
        encoder = getattr(model, "encoder", None)
        if not isinstance(encoder, AWDLSTM) or not (self.alpha or self.beta):
            return
        self._handles.append(encoder.register_forward_hook(self._keep(self._raw)))
        dropout = getattr(model, "output_dropout", None)
        if isinstance(dropout, nn.Module):
            self._handles.append(dropout.register_forward_hook(self._keep(self._dropped)))

    def _keep(self, into: list[torch.Tensor]) -> Any:
        def hook(module: nn.Module, args: Any, output: torch.Tensor) -> None:
            if module.training and output.requires_grad:
                into.append(output)

        return hook

    def before_batch(self) -> None:
        self._raw.clear()
        self._dropped.clear()

    def after_loss(self) -> None:
        if not self._raw:
            return
        raw = torch.cat(self._raw, dim=1) if len(self._raw) > 1 else self._raw[0]  # (B, T, C)
        dropped = self._dropped[-1] if self._dropped else raw
        extra = raw.new_zeros((), dtype=torch.float32)
        if self.alpha:
            extra = extra + self.alpha * dropped.float().pow(2).mean()
        if self.beta and raw.size(1) > 1:
            extra = extra + self.beta * (raw[:, 1:] - raw[:, :-1]).float().pow(2).mean()
        self.learn.loss_grad = self.learn.loss_grad + extra
        # let backward free these activations; before_batch clears what a skipped loss left
        self._raw.clear()
        self._dropped.clear()

    def after_fit(self) -> None:
        self._remove_hooks()

    def after_interrupt(self) -> None:
        self._remove_hooks()

    def _remove_hooks(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        self._raw.clear()
        self._dropped.clear()
