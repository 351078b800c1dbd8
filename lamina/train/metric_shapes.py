"""Pairing classification predictions with their targets, shared by the metric modules.

Classification metrics take scores with a class axis, (B, C), (B, T, C) or (B, C, H, W), against
integer targets without it; a single score per item, (B,) or (B, 1), is binary (logit > 0).
"""

from __future__ import annotations

import torch


def class_axis(pred: torch.Tensor, targ: torch.Tensor) -> int:
    """The axis of `pred` holding class scores for integer targets `targ`."""
    if pred.ndim == targ.ndim + 1:
        if pred.shape[:-1] == targ.shape:
            return -1
        if pred.shape[0] == targ.shape[0] and pred.shape[2:] == targ.shape[1:]:
            return 1  # (B, C, H, W) against (B, H, W)
    raise ValueError(
        f"cannot pair predictions of shape {tuple(pred.shape)} with targets of shape "
        f"{tuple(targ.shape)}: expected class scores on one extra axis (last, or axis 1)"
    )


def single_score(pred: torch.Tensor, targ: torch.Tensor) -> bool:
    """Whether `pred` holds one value per target (a binary logit, or labels already)."""
    return pred.numel() == targ.numel() and (
        pred.shape == targ.shape or (pred.ndim == targ.ndim + 1 and pred.shape[-1] == 1)
    )


def squeeze_label_axis(pred: torch.Tensor, targ: torch.Tensor) -> torch.Tensor:
    """(B, 1) integer targets against (B, C) scores become (B,)."""
    if targ.ndim == pred.ndim and targ.ndim > 1 and targ.shape[-1] == 1 != pred.shape[-1]:
        return targ.squeeze(-1)
    return targ


def predicted_classes(pred: torch.Tensor, targ: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Class indices predicted by `pred`, and `targ` in the same shape."""
    targ = squeeze_label_axis(pred, targ)
    if single_score(pred, targ):
        pred = pred.reshape(targ.shape)
        return ((pred > 0).long() if pred.is_floating_point() else pred), targ
    return pred.argmax(dim=class_axis(pred, targ)), targ


def class_scores_last(pred: torch.Tensor, targ: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """`pred` with its class axis moved last, (..., C), and `targ` as (...)."""
    targ = squeeze_label_axis(pred, targ)
    return pred.movedim(class_axis(pred, targ), -1), targ


def safe_div(numerator: torch.Tensor, denominator: torch.Tensor) -> torch.Tensor:
    """`numerator / denominator`, 0 where the denominator is 0 (scikit-learn's zero_division)."""
    return torch.where(denominator > 0, numerator / denominator.clamp(min=1e-300), 0.0)
