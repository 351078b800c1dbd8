"""Feature importance by permutation on the validation rows."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    import pandas as pd

    from lamina.tabular.learner import TabularLearner


def _column_groups(learn: TabularLearner) -> dict[str, list[tuple[str, int]]]:
    """Each raw input column -> the model inputs it feeds, as ("cat" | "cont", position)."""
    processor = learn.dls.processor
    groups: dict[str, list[tuple[str, int]]] = {}
    for j, name in enumerate(processor.all_cat_names):
        groups.setdefault(name, []).append(("cat", j))
    for j, name in enumerate(processor.cont_names):
        groups.setdefault(name, []).append(("cont", j))
    # A missing-value indicator moves with its column: shuffling one alone leaves a mismatch.
    for name in processor.cont_names:
        if f"{name}_na" in groups and f"{name}_na" not in processor.cat_names:
            groups[name] += groups.pop(f"{name}_na")
    return groups


def _minus_loss(learn: TabularLearner) -> Callable[[torch.Tensor, torch.Tensor], float]:
    def score(out: torch.Tensor, targ: torch.Tensor) -> float:
        if learn.loss_func is None:
            raise ValueError("the learner has no loss_func: pass score_func")
        return -float(learn.loss_func(out, targ))

    return score


def permutation_importance(
    learn: TabularLearner,
    score_func: Callable[[torch.Tensor, torch.Tensor], float] | None = None,
    n_repeats: int = 1,
    seed: int = 0,
) -> pd.Series:
    """How much worse the model does on the validation rows when one column is shuffled.

    Each input column (with its missing-value indicator, if any) is permuted across the
    validation rows in turn and the rows are scored again; the importance is the drop in score,
    averaged over `n_repeats` permutations. Returns a Series indexed by column name, most
    important first.

    Args:
        score_func: `score(raw_outputs, targets) -> float`, higher is better. Default: minus the
            learner's loss, so an importance is the rise in validation loss.
        n_repeats: permutations per column.
        seed: seed of the permutations.

    Example:
        >>> permutation_importance(learn).head()
    """
    import pandas as pd

    if not isinstance(n_repeats, int) or n_repeats < 1:
        raise ValueError(f"n_repeats must be a positive integer, got {n_repeats!r}")
    valid = learn.dls.valid
    if valid is None or not hasattr(valid, "tensors"):
        raise ValueError("permutation_importance needs validation rows (TabularDataLoaders.valid)")
    x_cat, x_cont, y = (t.cpu() for t in valid.tensors[:3])
    if score_func is None:
        score_func = _minus_loss(learn)
    baseline = score_func(learn.predict_inputs(x_cat, x_cont, raw=True), y)
    generator = torch.Generator().manual_seed(seed)
    importances = {}
    for name, inputs in _column_groups(learn).items():
        drops = []
        for _ in range(n_repeats):
            order = torch.randperm(len(y), generator=generator)
            cat, cont = x_cat.clone(), x_cont.clone()
            for kind, j in inputs:
                target = cat if kind == "cat" else cont
                target[:, j] = target[order, j]
            drops.append(baseline - score_func(learn.predict_inputs(cat, cont, raw=True), y))
        importances[name] = sum(drops) / n_repeats
    return pd.Series(importances, name="importance").sort_values(ascending=False)
