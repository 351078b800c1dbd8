"""`TerminateOnNaN`: stop as soon as the training loss is not finite."""

from __future__ import annotations

import math

from lamina.train.callback import Callback


class TerminateOnNaN(Callback):
    """Raises `FloatingPointError` when a training loss is NaN or infinite.

    It checks after the loss and before the backward pass, so the weights left behind are
    those of the last finite step.
    """

    order = -10
    run_valid = False

    @property
    def name(self) -> str:
        return "terminate_on_nan"  # the generic rule would split "NaN" into "na_n"

    def after_loss(self) -> None:
        loss = self.learn.loss.item()
        if not math.isfinite(loss):
            learn = self.learn
            raise FloatingPointError(
                f"training loss became {loss} at epoch {learn.epoch}, batch {learn.iter}; "
                "training stopped and the model keeps the weights of the last finite step "
                "(try a lower learning rate, gradient clipping, or check the inputs)"
            )
