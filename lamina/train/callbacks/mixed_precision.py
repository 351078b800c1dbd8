"""`MixedPrecision`: forward pass and loss under `torch.autocast`, with loss scaling for float16."""

from __future__ import annotations

import warnings
from typing import Any

import torch

from lamina.train.callback import Callback, CancelStep

_DTYPES = {
    "float16": torch.float16,
    "fp16": torch.float16,
    "half": torch.float16,
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
}


def _as_dtype(dtype: torch.dtype | str | None) -> torch.dtype | None:
    if dtype is None:
        return None
    if isinstance(dtype, torch.dtype) and dtype in (torch.float16, torch.bfloat16):
        return dtype
    if isinstance(dtype, str) and dtype in _DTYPES:
        return _DTYPES[dtype]
    raise ValueError(
        f"dtype must be None, torch.float16, torch.bfloat16 or one of {sorted(_DTYPES)}, "
        f"got {dtype!r}"
    )


def _to_float32(value: Any) -> Any:
    """Half and bfloat16 tensors in a (nested) prediction as float32; all else as it is."""
    if isinstance(value, torch.Tensor):
        return value.float() if value.dtype in (torch.float16, torch.bfloat16) else value
    if isinstance(value, (tuple, list)):
        return type(value)(_to_float32(item) for item in value)
    if isinstance(value, dict):
        return {key: _to_float32(item) for key, item in value.items()}
    return value


CPU_FLOAT16_WARNING = (
    "float16 autocast on the CPU is tens of times slower than float32 (CPUs have no fast float16 "
    "kernels): training under bfloat16 autocast instead. On a GPU, to_fp16() / float16 train "
    "in float16; MixedPrecision('float16', cpu_float16=True) forces float16 on the CPU"
)

PRECISIONS = ("auto", "float32", "fp32", *_DTYPES)


def resolve_precision(precision: str, device: torch.device | str) -> torch.dtype | None:
    """The autocast dtype that `Learner(precision=...)` asks for on `device`, or None (float32).

    "auto" is bfloat16 on CUDA devices that support it (float16, with loss scaling, on older
    ones) and float32 elsewhere: autocast on a CPU without bfloat16 units is slower, not faster.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {list(PRECISIONS)}, got {precision!r}")
    if precision in ("float32", "fp32"):
        return None
    if precision != "auto":
        return _DTYPES[precision]
    if torch.device(device).type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


class MixedPrecision(Callback):
    """Runs each batch's forward pass and loss under `torch.autocast`.

    Args:
        dtype: the autocast dtype; None picks float16 on CUDA and bfloat16 elsewhere.
        cpu_float16: run float16 autocast on the CPU when asked to. By default float16 on the
            CPU falls back to bfloat16 (with a warning, once): CPUs have no fast float16 kernels,
            so float16 autocast there is tens of times slower than float32 (a step of 23 s
            instead of 0.3 s), where bfloat16 runs at about float32's speed. True keeps float16
            (with its loss scaling), e.g. to test that path on a machine without a GPU.

    `active_dtype` is the dtype the last fit (or batch) ran under.

    With float16 a `torch.amp.GradScaler` (`self.scaler`) scales the loss before the backward
    pass so small gradients do not underflow, then unscales, steps (skipping steps whose gradients
    overflowed) and updates the scale; the learner's own step is skipped. bfloat16 has float32's
    range and needs no scaling. Callbacks that read gradients before the step (`GradientClip`)
    call `scaler.unscale_(opt)` first.

    Autocast is entered in `before_batch` and left as soon as the loss exists (or when the batch
    ends or is cancelled), so no other code runs under it. If an exception escapes in between,
    autocast is left at the next batch, validation or fit of this learner.
    """

    order = 40

    def __init__(self, dtype: torch.dtype | str | None = None, cpu_float16: bool = False) -> None:
        self.dtype = _as_dtype(dtype)
        self.cpu_float16 = bool(cpu_float16)
        self.active_dtype: torch.dtype | None = None
        self._warned = False
        self.scaler: torch.amp.GradScaler | None = None
        self._autocast: torch.autocast | None = None
        self._entered = False
        self._scaler_state: dict = {}

    def before_fit(self) -> None:
        self._leave()
        device_type = torch.device(self.learn.dls.device).type
        default = torch.float16 if device_type == "cuda" else torch.bfloat16
        dtype = self.dtype or default
        if dtype == torch.float16 and device_type == "cpu" and not self.cpu_float16:
            dtype = torch.bfloat16
            if not self._warned:
                self._warned = True
                warnings.warn(CPU_FLOAT16_WARNING, UserWarning, stacklevel=2)
        self.active_dtype = dtype
        self._autocast = torch.autocast(device_type, dtype=dtype)
        if dtype == torch.float16 and self.scaler is None:
            self.scaler = torch.amp.GradScaler(device_type)
        if self.scaler is not None and self._scaler_state:
            self.scaler.load_state_dict({**self.scaler.state_dict(), **self._scaler_state})
            self._scaler_state = {}

    def before_batch(self) -> None:
        if self._autocast is None:  # a batch run outside fit (`one_batch`, `validate`)
            self.before_fit()
        self._leave()  # in case an earlier batch ended in an exception while inside autocast
        assert self._autocast is not None, "before_fit made the autocast context"
        self._autocast.__enter__()
        self._entered = True

    def _leave(self) -> None:
        if self._entered:
            assert self._autocast is not None, "entered only after before_fit made it"
            self._entered = False
            self._autocast.__exit__(None, None, None)

    def after_pred(self) -> None:
        # The loss, the metrics and `get_preds` see float32 predictions: NumPy has no bfloat16,
        # and a loss or metric summed in half precision loses digits.
        self.learn.pred = _to_float32(self.learn.pred)

    def after_loss(self) -> None:
        self._leave()

    def before_backward(self) -> None:
        if self.scaler is not None:
            self.learn.loss_grad = self.scaler.scale(self.learn.loss_grad)

    def before_step(self) -> None:
        if self.scaler is None:
            return
        opt = self.learn.opt
        assert opt is not None  # fit builds the optimizer before any event
        self.scaler.step(opt)
        self.scaler.update()
        opt.zero_grad(set_to_none=True)
        raise CancelStep

    def after_cancel_batch(self) -> None:
        self._leave()

    def after_batch(self) -> None:
        self._leave()  # batches without targets never reach `after_loss`

    def before_validate(self) -> None:
        self._leave()

    def after_fit(self) -> None:
        self._leave()

    def state_dict(self) -> dict:
        if self.scaler is None:
            return {}
        # The scale is a float and the growth tracker an int: plain JSON.
        state = self.scaler.state_dict()
        return {key: value for key, value in state.items() if isinstance(value, (int, float))}

    def load_state_dict(self, state: dict) -> None:
        # The scaler may not exist yet (it is made in `before_fit`): keep the state until then.
        self._scaler_state = dict(state)
        if self.scaler is not None and state:
            self.scaler.load_state_dict({**self.scaler.state_dict(), **state})
            self._scaler_state = {}
