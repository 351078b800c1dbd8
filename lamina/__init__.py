"""lamina: a layered deep-learning library on PyTorch.

Three lines at the top (`dls = ...; learn = ...; learn.fine_tune(3)`), plain PyTorch at the bottom,
and each layer in between readable in one sitting.
"""

from typing import TYPE_CHECKING, Any

from lamina.core.seed import set_seed
from lamina.data.loaders import DataLoaders
from lamina.data.tensor_batches import TensorBatches
from lamina.inference import load_learner
from lamina.optim import Lamb, Lookahead, adam, adamw, lamb, ranger, rmsprop, sgd
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
from lamina.train.callbacks import (
    ActivationStats,
    ChannelsLast,
    CSVLogger,
    CutMix,
    EarlyStopping,
    GradientAccumulation,
    GradientClip,
    MixedPrecision,
    MixUp,
    ParamScheduler,
    ProgressCallback,
    Recorder,
    ReduceLROnPlateau,
    SaveModel,
    ShowGraph,
    TensorBoardCallback,
    TerminateOnNaN,
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
from lamina.train.lr_find import SuggestedLRs
from lamina.train.metric_base import AccumMetric, AvgMetric, Metric
from lamina.train.metrics import (
    APScoreBinary,
    APScoreMulti,
    BalancedAccuracy,
    Dice,
    DiceMulti,
    F1Score,
    ForegroundAccuracy,
    JaccardCoeff,
    JaccardCoeffMulti,
    MatthewsCorrCoef,
    Perplexity,
    Precision,
    R2Score,
    Recall,
    RocAuc,
    RocAucBinary,
    RocAucMulti,
    TopKAccuracy,
    accuracy,
    accuracy_multi,
    balanced_accuracy,
    error_rate,
    foreground_acc,
    mae,
    matthews_corrcoef,
    mse,
    r2_score,
    rmse,
    top_k_accuracy,
)

__version__ = "0.2.0"

__all__ = [
    "AccumMetric",
    "ActivationStats",
    "accuracy",
    "accuracy_multi",
    "adam",
    "adamw",
    "APScoreBinary",
    "APScoreMulti",
    "AvgMetric",
    "balanced_accuracy",
    "BalancedAccuracy",
    "BCEWithLogitsFlat",
    "Callback",
    "CancelBackward",
    "CancelBatch",
    "CancelEpoch",
    "CancelFit",
    "CancelStep",
    "CancelTrain",
    "CancelValidate",
    "ChannelsLast",
    "CrossEntropyFlat",
    "CSVLogger",
    "CutMix",
    "DataLoaders",
    "Dice",
    "DiceMulti",
    "EarlyStopping",
    "error_rate",
    "F1Score",
    "FocalLoss",
    "foreground_acc",
    "ForegroundAccuracy",
    "GradientAccumulation",
    "GradientClip",
    "JaccardCoeff",
    "JaccardCoeffMulti",
    "L1LossFlat",
    "LabelSmoothingCrossEntropy",
    "Lamb",
    "lamb",
    "Learner",
    "load_learner",
    "Lookahead",
    "mae",
    "matthews_corrcoef",
    "MatthewsCorrCoef",
    "Metric",
    "MixedPrecision",
    "ChannelsLast",
    "MixUp",
    "mse",
    "MSELossFlat",
    "ParamScheduler",
    "Perplexity",
    "Precision",
    "ProgressCallback",
    "r2_score",
    "R2Score",
    "ranger",
    "Recall",
    "Recorder",
    "ReduceLROnPlateau",
    "rmse",
    "rmsprop",
    "RocAuc",
    "RocAucBinary",
    "RocAucMulti",
    "SaveModel",
    "ShowGraph",
    "set_seed",
    "sgd",
    "SuggestedLRs",
    "TensorBatches",
    "TensorBoardCallback",
    "TerminateOnNaN",
    "top_k_accuracy",
    "TopKAccuracy",
]


if not TYPE_CHECKING:  # hidden from type checkers, which would otherwise accept any name

    def __getattr__(name: str) -> Any:
        """fastai's names that lamina spells differently: see `lamina.core.fastai_names`."""
        from lamina.core.fastai_names import fastai_name

        return fastai_name(__name__, name)
