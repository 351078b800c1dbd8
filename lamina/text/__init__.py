"""The text application: tokenizers, `TextBlock`, `TextDataLoaders`, and the ULMFiT learners.

Example:
    >>> from lamina.text import TextDataLoaders, language_model_learner, text_classifier_learner
    >>> dls = TextDataLoaders.from_df(df, text_col="text", label_col="label", seed=0)
    >>> learn = text_classifier_learner(dls, "awd_lstm", metrics="accuracy")
    >>> learn.fine_tune(4)
"""

from typing import TYPE_CHECKING, Any

from lamina.text.batches import LanguageModelStream, LengthSortedBatches
from lamina.text.blocks import TextBlock
from lamina.text.decode import detokenize
from lamina.text.learner import (
    LanguageModelLearner,
    ModelResetter,
    TextClassifierLearner,
    TextLearner,
    language_model_learner,
    text_classifier_learner,
)
from lamina.text.loaders import TextDataLoaders, get_text_files, read_text_file, token_vocab
from lamina.text.numericalize import make_vocab, numericalize, textify
from lamina.text.regularizer import RNNRegularizer
from lamina.text.rules import SPECIAL_TOKENS
from lamina.text.subword import SubwordTokenizer
from lamina.text.tokenize import tokenize_texts
from lamina.text.transforms import Numericalize, Tokenize
from lamina.text.words import WordTokenizer

__all__ = [
    "SPECIAL_TOKENS",
    "LanguageModelLearner",
    "LanguageModelStream",
    "LengthSortedBatches",
    "ModelResetter",
    "Numericalize",
    "RNNRegularizer",
    "SubwordTokenizer",
    "TextBlock",
    "TextClassifierLearner",
    "TextDataLoaders",
    "TextLearner",
    "Tokenize",
    "WordTokenizer",
    "detokenize",
    "get_text_files",
    "language_model_learner",
    "make_vocab",
    "numericalize",
    "read_text_file",
    "text_classifier_learner",
    "textify",
    "token_vocab",
    "tokenize_texts",
]


if not TYPE_CHECKING:  # hidden from type checkers, which would otherwise accept any name

    def __getattr__(name: str) -> Any:
        """fastai's names that lamina spells differently: see `lamina.core.fastai_names`."""
        from lamina.core.fastai_names import fastai_name

        return fastai_name(__name__, name)
