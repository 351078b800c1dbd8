"""The tabular application: tables to tensors with fitted procs, and `tabular_learner`.

Example:
    >>> from lamina.tabular import TabularDataLoaders, tabular_learner, load_penguins
    >>> dls = TabularDataLoaders.from_df(load_penguins(), y_names="species", seed=0)
    >>> learn = tabular_learner(dls, metrics="accuracy")
    >>> learn.fit_one_cycle(5, 1e-2)
"""

from typing import TYPE_CHECKING, Any

from lamina.models.layers import emb_sz_rule, sigmoid_range
from lamina.tabular.batches import TabularBatches
from lamina.tabular.builtin import load_penguins
from lamina.tabular.columns import add_datepart, cont_cat_split
from lamina.tabular.datablock import TabularBlock
from lamina.tabular.importance import permutation_importance
from lamina.tabular.learner import TabularLearner, build_tabular_learner, tabular_learner
from lamina.tabular.loaders import TabularDataLoaders
from lamina.tabular.model import TabularModel
from lamina.tabular.numeric_encoding import PiecewiseLinearEncoding, quantile_bin_edges
from lamina.tabular.processor import TabularProcessor, infer_y_block
from lamina.tabular.procs import Categorify, FillMissing, Standardize, TabularProc

__all__ = [
    "Categorify",
    "FillMissing",
    "PiecewiseLinearEncoding",
    "Standardize",
    "TabularBatches",
    "TabularBlock",
    "TabularDataLoaders",
    "TabularLearner",
    "TabularModel",
    "TabularProc",
    "TabularProcessor",
    "add_datepart",
    "build_tabular_learner",
    "cont_cat_split",
    "emb_sz_rule",
    "infer_y_block",
    "load_penguins",
    "permutation_importance",
    "quantile_bin_edges",
    "sigmoid_range",
    "tabular_learner",
]


if not TYPE_CHECKING:  # hidden from type checkers, which would otherwise accept any name

    def __getattr__(name: str) -> Any:
        """fastai's names that lamina spells differently: see `lamina.core.fastai_names`."""
        from lamina.core.fastai_names import fastai_name

        return fastai_name(__name__, name)
