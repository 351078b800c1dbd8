"""Callbacks shipped with lamina."""

from lamina.train.callbacks.nan_guard import TerminateOnNaN
from lamina.train.callbacks.progress import ProgressCallback
from lamina.train.callbacks.recorder import Recorder
from lamina.train.callbacks.schedule import ParamScheduler

__all__ = ["ParamScheduler", "ProgressCallback", "Recorder", "TerminateOnNaN"]
