"""Callbacks shipped with lamina."""

from lamina.train.callbacks.accumulate import GradientAccumulation
from lamina.train.callbacks.activation_stats import ActivationStats
from lamina.train.callbacks.channels_last import ChannelsLast
from lamina.train.callbacks.clip import GradientClip
from lamina.train.callbacks.csv_logger import CSVLogger
from lamina.train.callbacks.mix import CutMix, MixedLoss, MixUp
from lamina.train.callbacks.mixed_precision import MixedPrecision, resolve_precision
from lamina.train.callbacks.nan_guard import TerminateOnNaN
from lamina.train.callbacks.progress import ProgressCallback
from lamina.train.callbacks.recorder import Recorder
from lamina.train.callbacks.save_model import SaveModel
from lamina.train.callbacks.schedule import ParamScheduler
from lamina.train.callbacks.show_graph import ShowGraph
from lamina.train.callbacks.tensorboard import TensorBoardCallback
from lamina.train.callbacks.tracker import EarlyStopping, ReduceLROnPlateau, TrackerCallback

__all__ = [
    "ActivationStats",
    "CSVLogger",
    "ChannelsLast",
    "CutMix",
    "EarlyStopping",
    "GradientAccumulation",
    "GradientClip",
    "MixUp",
    "MixedLoss",
    "MixedPrecision",
    "resolve_precision",
    "ParamScheduler",
    "ProgressCallback",
    "Recorder",
    "ReduceLROnPlateau",
    "SaveModel",
    "ShowGraph",
    "TensorBoardCallback",
    "TerminateOnNaN",
    "TrackerCallback",
]
