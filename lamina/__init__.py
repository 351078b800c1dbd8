"""lamina: a layered deep-learning library on PyTorch.

Three lines at the top (`dls = ...; learn = ...; learn.fine_tune(3)`), plain PyTorch at the bottom,
and each layer in between readable in one sitting.
"""

from lamina.core.seed import set_seed
from lamina.data.loaders import DataLoaders, TensorBatches
from lamina.train.callback import (
    Callback,
    CancelBackward,
    CancelBatch,
    CancelEpoch,
    CancelFit,
    CancelStep,
    CancelTrain,
    CancelValidate,
)
from lamina.train.learner import Learner
from lamina.train.metric import AccumMetric, AvgMetric, Metric

__version__ = "0.1.0"

__all__ = [
    "AccumMetric",
    "AvgMetric",
    "Callback",
    "CancelBackward",
    "CancelBatch",
    "CancelEpoch",
    "CancelFit",
    "CancelStep",
    "CancelTrain",
    "CancelValidate",
    "DataLoaders",
    "Learner",
    "Metric",
    "TensorBatches",
    "set_seed",
]
