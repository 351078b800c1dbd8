"""`collab_learner` and `CollabLearner`: training, predictions, recommendations and analysis."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from lamina.collab.loaders import CollabDataLoaders, CollabVocab
from lamina.collab.models import EmbeddingDotBias, EmbeddingNN
from lamina.collab.y_range import AUTO, rating_range_of, resolve_y_range
from lamina.core.modules import eval_mode, unwrap_model
from lamina.core.registry import register
from lamina.models import build_model
from lamina.models.layers import emb_sz_rule
from lamina.train.learner import Learner
from lamina.train.loss_check import default_loss_for
from lamina.train.weights_check import build_checked

if TYPE_CHECKING:
    import pandas as pd

# The export records "dot" or "nn"; the registered architecture is "collab_<that>".
MODEL_KINDS = ("dot", "nn")


class CollabLearner(Learner):
    """A `Learner` over `CollabDataLoaders` that predicts, recommends and explains by name.

    Users and items are named by their values in the ratings (ids or titles). A user or item
    absent from the training data raises a `ValueError` naming it: the model has no embedding
    for it (no silent fallback).
    """

    dls: CollabDataLoaders

    @torch.no_grad()
    def _outputs(self, x: torch.Tensor) -> torch.Tensor:
        device = self.dls.device
        self.model.to(device)
        with eval_mode(self.model) as model:
            chunks = [model(x[i : i + 8192].to(device)) for i in range(0, len(x), 8192)]
        return torch.cat(chunks).float().cpu()

    def predict(self, users: Any, items: Any) -> torch.Tensor:
        """Predicted ratings (float (n,)) for (user, item) pairs; one user or item is repeated.

        Example:
            >>> learn.predict([196, 186], [242, 302])
        """
        users = [users] if _is_scalar(users) else list(users)
        items = [items] if _is_scalar(items) else list(items)
        if len(users) == 1:
            users = users * len(items)
        if len(items) == 1:
            items = items * len(users)
        if len(users) != len(items):
            raise ValueError(f"got {len(users)} users but {len(items)} items to pair")
        vocab = self.dls.vocab
        x = torch.stack([vocab.encode("user", users), vocab.encode("item", items)], dim=1)
        return self._outputs(x)

    def recommend(self, user: Any, n: int = 10, exclude: Sequence[Any] | None = None) -> Any:
        """The `n` items with the highest predicted rating for `user`, as a DataFrame
        (item, predicted rating), best first.

        Items the user rated in the learner's data are left out, and so are `exclude`d ones (a
        learner loaded from an export holds no ratings: pass the user's rated items there).
        """
        import pandas as pd

        if not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}")
        vocab = self.dls.vocab
        user_idx = int(vocab.encode("user", [user])[0])
        items = torch.arange(len(vocab.items))
        scores = self._outputs(torch.stack([torch.full_like(items, user_idx), items], dim=1))
        if self.dls.rated is not None:
            rated = self.dls.rated.cpu()
            scores[rated[rated[:, 0] == user_idx, 1]] = -torch.inf
        if exclude:
            scores[vocab.encode("item", list(exclude))] = -torch.inf
        top = scores.topk(min(n, int(torch.isfinite(scores).sum())))
        name, rating = self.dls.names[1], self.dls.names[2]
        return pd.DataFrame({name: [vocab.items[i] for i in top.indices.tolist()],
                             f"predicted_{rating}": top.values.tolist()})  # fmt: skip

    # ----------------------------------------------------------------------------- analysis
    def bias(self, items: Sequence[Any] | None = None, is_item: bool = True) -> torch.Tensor:
        """Learned biases (float (n,)) of `items` (default: all, in `dls.vocab` order); user
        biases with `is_item=False`."""
        model = unwrap_model(self.model)
        if not isinstance(model, EmbeddingDotBias):
            raise ValueError("biases exist only in the dot-product model (use_nn=False)")
        table = model.item_bias if is_item else model.user_bias
        return self._rows(table, items, "item" if is_item else "user").squeeze(1)

    def weight(self, items: Sequence[Any] | None = None, is_item: bool = True) -> torch.Tensor:
        """Learned factors (float (n, n_factors)) of `items` (default: all); users' with
        `is_item=False`."""
        model = unwrap_model(self.model)
        if not isinstance(model, (EmbeddingDotBias, EmbeddingNN)):
            raise ValueError("factors exist only in lamina's collab models (collab_learner's)")
        table = model.item_weight if is_item else model.user_weight
        return self._rows(table, items, "item" if is_item else "user")

    def _rows(self, table: nn.Embedding, keys: Sequence[Any] | None, kind: str) -> torch.Tensor:
        weights = table.weight.detach().float().cpu()
        if keys is None:
            return weights
        return weights[self.dls.vocab.encode(kind, list(keys))]

    def most_liked(self, n: int = 10, least: bool = False) -> pd.DataFrame:
        """Items with the largest learned bias (the smallest with `least=True`): liked beyond
        what each user's taste and each item's factors explain."""
        import pandas as pd

        biases = self.bias()
        order = biases.argsort(descending=not least)[:n].tolist()
        items = self.dls.vocab.items
        return pd.DataFrame({self.dls.names[1]: [items[i] for i in order],
                             "bias": biases[order].tolist()})  # fmt: skip

    def least_liked(self, n: int = 10) -> pd.DataFrame:
        """Items with the smallest learned bias."""
        return self.most_liked(n, least=True)

    def plot_item_pca(self, items: Sequence[Any] | None = None, n: int = 50) -> Any:
        """A 2-D PCA of item factors, the `items` (default: the `n` most rated) labelled;
        returns the matplotlib figure."""
        from lamina.core.figures import new_figure

        items = self._most_rated(n) if items is None else list(items)
        factors = self.weight()
        centred = factors - factors.mean(dim=0)
        _, _, v = torch.pca_lowrank(centred, q=2, center=False)
        coords = (centred @ v[:, :2])[self.dls.vocab.encode("item", items)]  # (n, 2)
        fig = new_figure(figsize=(10, 10))
        ax = fig.subplots()
        ax.scatter(coords[:, 0], coords[:, 1], s=8)
        for (x, y), item in zip(coords.tolist(), items, strict=True):
            ax.annotate(str(item), (x, y), fontsize=8)
        ax.set_xlabel("first principal component")
        ax.set_ylabel("second principal component")
        return fig

    def _most_rated(self, n: int) -> list:
        items = self.dls.vocab.items
        if self.dls.rated is None:
            return items[:n]
        counts = torch.bincount(self.dls.rated[:, 1].cpu(), minlength=len(items))
        return [items[i] for i in counts.argsort(descending=True)[:n].tolist()]


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (str, bytes)) or not hasattr(value, "__iter__")


def collab_learner(
    dls: CollabDataLoaders,
    n_factors: int = 50,
    y_range: tuple[float, float] | str | None = AUTO,
    use_nn: bool = False,
    layers: Sequence[int] | None = None,
    emb_szs: dict[str, int] | None = None,
    **learner_kwargs: Any,
) -> CollabLearner:
    """A `CollabLearner` trained with mean squared error on the ratings.

    Args:
        n_factors: width of user and item factors of the dot-product model.
        y_range: predictions are squashed into `(low, high)`. "auto" (default): a little
            wider than the ratings, `(low - span / 4, high + span / 8)`, i.e. (0, 5.5) for
            ratings 1 to 5. A given range must cover every rating (else a `ValueError`: those
            ratings could never be predicted); None: no squashing.
        use_nn: a neural network over concatenated embeddings instead of a dot product; its
            widths follow `emb_sz_rule` unless `emb_szs={"user": ..., "item": ...}`.
        layers: hidden widths of the network (default `[100]`).
        learner_kwargs: passed to `Learner` (lr, wd, cbs, metrics, ...).

    Example:
        >>> learn = collab_learner(dls, n_factors=50, y_range=(0, 5.5))
        >>> learn.fit_one_cycle(5, 5e-3, wd=0.1)
    """
    if not isinstance(dls, CollabDataLoaders):
        raise ValueError(f"dls must be CollabDataLoaders, got {type(dls).__name__}")
    n_users, n_items = len(dls.vocab.users), len(dls.vocab.items)
    bounds = resolve_y_range(y_range, rating_range_of(dls)) if y_range is not None else None
    y_bounds = None if bounds is None else list(bounds)
    if use_nn:
        sizes = dict(emb_szs or {})
        arch = {"n_users": n_users, "n_items": n_items,
                "user_sz": sizes.get("user", emb_sz_rule(n_users)),
                "item_sz": sizes.get("item", emb_sz_rule(n_items)),
                "layers": list(layers or [100]), "y_range": y_bounds}  # fmt: skip
    else:
        if layers is not None or emb_szs is not None:
            raise ValueError("layers and emb_szs are for use_nn=True")
        arch = {"n_users": n_users, "n_items": n_items, "n_factors": n_factors,
                "y_range": y_bounds}  # fmt: skip
    name = "nn" if use_nn else "dot"
    learner_kwargs.setdefault("loss_func", default_loss_for(dls))
    learn = CollabLearner(dls, build_model(f"collab_{name}", **arch), **learner_kwargs)
    learn.export_spec = {"app": "collab", "model": name, "arch": arch,
                         "vocab": dls.vocab.config(), "names": dls.names}  # fmt: skip
    return learn


def _check_unique(field: str, values: Any) -> None:
    if not isinstance(values, list):
        raise ValueError(f"the exported collab field {field!r} must be a list")
    seen: set = set()
    for value in values:
        key = (type(value).__name__, value) if _is_scalar(value) else None
        if key is None:
            raise ValueError(f"the exported collab field {field!r} holds {value!r}, not a scalar")
        if key in seen:
            raise ValueError(f"the exported collab field {field!r} lists {value!r} twice")
        seen.add(key)


@register("app", "collab")
def build_collab_learner(
    spec: dict[str, Any], model_tensors: dict[str, torch.Tensor], device: torch.device | None
) -> CollabLearner:
    """Rebuild an exported collab learner (for `lamina.load_learner`)."""
    if spec.get("model") not in MODEL_KINDS:
        raise ValueError(f"unknown collab model {spec.get('model')!r}; known: {MODEL_KINDS}")
    users, items = spec["vocab"]["users"], spec["vocab"]["items"]
    for field, values in (("vocab.users", users), ("vocab.items", items)):
        _check_unique(field, values)
    name, arch = f"collab_{spec['model']}", spec["arch"]
    try:
        model = build_checked(lambda: build_model(name, **arch), model_tensors)
    except ValueError as error:
        raise ValueError(f"the exported weights do not fit the collab model: {error}") from None
    vocab = CollabVocab(users, items)
    dls = CollabDataLoaders((), None, vocab, spec["names"], rated=None, device=device)
    learn = CollabLearner(dls, model, loss_func=default_loss_for(dls), precision="float32")
    learn.export_spec = spec
    return learn
