"""fastai's names that lamina spells differently, or does not have, each with lamina's way.

A package's `__getattr__` (PEP 562, only reached for names the package lacks) hands out a
`FastaiName` for them: `from lamina.vision import cnn_learner` succeeds, and the first use of
`cnn_learner` (calling it, reading an attribute, subclassing it, `isinstance`) raises
`FastaiNameError` saying what to write instead. A placeholder rather than an error at the import
line, because Python replaces the message of an error raised during `from ... import` with its
own "cannot import name". Names lamina has under the same name and meaning need no entry; see
docs/from-fastai.md for the whole porting guide.
"""

from __future__ import annotations

from typing import Any, NoReturn

_FLAT = "lamina's losses flatten as fastai's *Flat losses do"

HINTS: dict[str, str] = {
    # ------------------------------------------------------------------ learners and data
    "cnn_learner": "fastai's old name for vision_learner: use lamina.vision.vision_learner(dls, "
    "'resnet34') (the architecture is a registered name, a string)",
    "untar_data": "lamina.data.download.download_data(url, sha256=...) downloads and unpacks an "
    "archive into the cache and returns its folder; lamina.datasets has small built-in sets "
    "(digits, load_penguins, load_movielens_100k, tiny_shakespeare) that work offline",
    "URLs": "lamina has no table of data-set URLs: pass the URL itself to "
    "lamina.data.download.download_data, or use a built-in set from lamina.datasets",
    "ImageDataLoaders": "from lamina.vision import ImageDataLoaders",
    "SegmentationDataLoaders": "from lamina.vision import SegmentationDataLoaders",
    "TabularDataLoaders": "from lamina.tabular import TabularDataLoaders",
    "TextDataLoaders": "from lamina.text import TextDataLoaders",
    "CollabDataLoaders": "from lamina.collab import CollabDataLoaders",
    "vision_learner": "from lamina.vision import vision_learner",
    "unet_learner": "from lamina.vision import unet_learner",
    "tabular_learner": "from lamina.tabular import tabular_learner",
    "collab_learner": "from lamina.collab import collab_learner",
    "text_classifier_learner": "from lamina.text import text_classifier_learner",
    "language_model_learner": "from lamina.text import language_model_learner",
    "DataBlock": "from lamina.vision import DataBlock (also lamina.data.DataBlock)",
    "get_image_files": "from lamina.vision import get_image_files",
    "ClassificationInterpretation": "from lamina.vision import ClassificationInterpretation",
    "TabularPandas": "lamina.tabular.TabularDataLoaders.from_df(df, cat_names=..., "
    "cont_names=..., y_names=..., procs=...) fits the procs and builds the loaders in one call",
    "Normalize": "as a tabular proc, fastai's Normalize is lamina.tabular.Standardize; for "
    "images, lamina.vision.Normalize",
    "IntToFloatTensor": "lamina.vision.IntToFloat (vision_learner adds it and Normalize itself)",
    "PILImage": "images are opened by lamina.vision.open_image(path); predict takes a path, a "
    "PIL image or an array directly",
    "AWD_LSTM": "architectures are registered names: text_classifier_learner(dls, 'awd_lstm')",
    "resnet18": "architectures are registered names: vision_learner(dls, 'resnet18')",
    "resnet34": "architectures are registered names: vision_learner(dls, 'resnet34')",
    "resnet50": "architectures are registered names: vision_learner(dls, 'resnet50')",
    "SpacyTokenizer": "lamina.text.WordTokenizer (rules of its own, no spaCy)",
    # ------------------------------------------------------------------ callbacks
    "SaveModelCallback": "lamina.SaveModel(monitor=..., name=...): fastai's fname= is name=; "
    "both load the best epoch back at the end (lamina's at_end=True, the default); fastai's "
    "at_end=True (save once at the end) is at_end=False plus learn.save(name) after the fit; "
    "with_opt defaults to True",
    "EarlyStoppingCallback": "lamina.EarlyStopping(monitor=..., comp=..., min_delta=..., "
    "patience=...)",
    "TerminateOnNaNCallback": "lamina.TerminateOnNaN (every learner has one already)",
    "ReduceLROnPlateauCallback": "lamina.ReduceLROnPlateau(monitor=..., patience=..., factor=...)",
    "GradientAccumulationCallback": "lamina.GradientAccumulation(n_acc=...) counts samples as "
    "fastai's does; n_steps=... counts batches instead",
    "ShowGraphCallback": "lamina.ShowGraph() redraws the losses in the notebook after each epoch",
    "MixedPrecisionCallback": "lamina.MixedPrecision(dtype), or learn.to_fp16() / to_bf16()",
    # ------------------------------------------------------------------ losses
    "CrossEntropyLossFlat": f"lamina.CrossEntropyFlat(axis=...); {_FLAT}",
    "BCEWithLogitsLossFlat": f"lamina.BCEWithLogitsFlat(thresh=..., pos_weight=...); {_FLAT}",
    "FocalLossFlat": f"lamina.FocalLoss; {_FLAT}",
    "LabelSmoothingCrossEntropyFlat": f"lamina.LabelSmoothingCrossEntropy; {_FLAT}",
    "BCELossFlat": "lamina has no loss on probabilities: output logits and use "
    "lamina.BCEWithLogitsFlat (more stable)",
    # ------------------------------------------------------------------ optimizers
    "Adam": "optimizers are functions with lower-case names: opt_func=lamina.adam (fastai's Adam "
    "decouples weight decay, as lamina.adamw, the default opt_func, does)",
    "SGD": "opt_func=lamina.sgd",
    "RAdam": "lamina has no RAdam: opt_func=lamina.adamw, lamina.lamb or lamina.ranger",
    "RMSProp": "opt_func=lamina.rmsprop",
}


class FastaiNameError(AttributeError):
    """A fastai name lamina spells differently or does not have; the message says lamina's way."""


class FastaiName:
    """Stands for fastai name `name`: any use raises `FastaiNameError` with `hint`."""

    def __init__(self, module: str, name: str, hint: str) -> None:
        self._module, self._name, self._hint = module, name, hint

    def _error(self) -> FastaiNameError:
        return FastaiNameError(
            f"{self._module}.{self._name} is not lamina's (it is fastai's name): {self._hint}"
        )

    def __call__(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise self._error()

    def __getattr__(self, attr: str) -> NoReturn:
        if attr.startswith("_"):  # copy, pickle, IPython and friends probe such names
            raise AttributeError(attr)
        raise self._error()

    def __mro_entries__(self, bases: tuple) -> NoReturn:
        raise self._error()  # `class MyCallback(SaveModelCallback): ...`

    def __instancecheck__(self, instance: Any) -> NoReturn:
        raise self._error()

    def __repr__(self) -> str:
        return f"<fastai name {self._name}: {self._hint}>"


def fastai_name(module: str, name: str) -> FastaiName:
    """The placeholder for fastai name `name` looked up on lamina package `module`; an ordinary
    AttributeError for any other missing name."""
    hint = HINTS.get(name)
    if hint is None:
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    return FastaiName(module, name, hint)
