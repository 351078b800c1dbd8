"""lamina: a layered deep-learning library on PyTorch.

Three lines at the top (`dls = ...; learn = ...; learn.fine_tune(3)`), plain PyTorch at the bottom,
and each layer in between readable in one sitting.
"""

from lamina.core.seed import set_seed
from lamina.data.loaders import DataLoaders, TensorBatches
from lamina.inference import load_learner
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
from lamina.train.losses import (
    BCEWithLogitsFlat,
    CrossEntropyFlat,
    FocalLoss,
    L1LossFlat,
    LabelSmoothingCrossEntropy,
    MSELossFlat,
)
from lamina.train.metric import AccumMetric, AvgMetric, Metric
from lamina.train.metrics import (
    F1Score,
    Perplexity,
    Precision,
    R2Score,
    Recall,
    RocAuc,
    RocAucMulti,
    TopKAccuracy,
    accuracy,
    accuracy_multi,
    error_rate,
    mae,
    mse,
    r2_score,
    rmse,
    top_k_accuracy,
)

__version__ = "0.1.0"

__all__ = [
    "AccumMetric",
    "AvgMetric",
    "BCEWithLogitsFlat",
    "Callback",
    "CancelBackward",
    "CancelBatch",
    "CancelEpoch",
    "CancelFit",
    "CancelStep",
    "CancelTrain",
    "CancelValidate",
    "CrossEntropyFlat",
    "DataLoaders",
    "F1Score",
    "FocalLoss",
    "L1LossFlat",
    "LabelSmoothingCrossEntropy",
    "Learner",
    "MSELossFlat",
    "Metric",
    "Perplexity",
    "Precision",
    "R2Score",
    "Recall",
    "RocAuc",
    "RocAucMulti",
    "TensorBatches",
    "TopKAccuracy",
    "accuracy",
    "accuracy_multi",
    "error_rate",
    "load_learner",
    "mae",
    "mse",
    "r2_score",
    "rmse",
    "set_seed",
    "top_k_accuracy",
]
