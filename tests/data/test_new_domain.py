"""A new domain defined entirely here, through the data layer's hooks, with no edit to lamina.

The domain: sequences of numbers of different lengths, each labelled "positive" or "negative" by
the sign of the mean its values were drawn around. The test file brings what an application
would: a type transform, a block that pads its own batches, a registered model, and (in the
second test) a block with a loader of its own. It then trains a Learner, exports it, and loads it
back with `load_learner`. docs/adding-a-domain.md walks through the same code.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from lamina import Learner, accuracy, load_learner
from lamina.core.registry import register, to_entry
from lamina.data import (
    CategoryBlock,
    ColReader,
    DataBlock,
    RandomSplitter,
    Transform,
    TransformBlock,
)
from lamina.data.item_dataset import ItemDataset
from lamina.models import build_model
from lamina.train.model_app import model_export_spec

PAD = float("nan")  # padding that no real value can be


# ----------------------------------------------------------------------------- the domain
@register("transform", "test_to_sequence")
class ToSequence(Transform):
    """A list of numbers -> a float tensor (L,)."""

    def encode(self, x: Any, kind: str) -> Any:
        values = torch.as_tensor(x, dtype=torch.float32).flatten()
        if values.isnan().any():
            raise ValueError("a sequence may not hold NaN (it marks padding)")
        return values


@register("block", "test_sequence")
class SequenceBlock(TransformBlock):
    """Variable-length sequences of numbers, padded with NaN at the end of each batch."""

    kind = "sequence"

    def type_tfms(self) -> list[Transform]:
        return [ToSequence()]

    def collate(self, values: list[Any]) -> torch.Tensor:
        return nn.utils.rnn.pad_sequence(values, batch_first=True, padding_value=PAD)  # (B, L)

    def show(self, ax: Any, value: Any, context: dict[str, Any]) -> str | None:
        ax.plot(value[~value.isnan()].tolist())
        return None

    def config(self) -> dict[str, Any]:
        return {}


@register("model", "test_masked_mean")
class MaskedMeanClassifier(nn.Module):
    """(B, L) NaN-padded -> (B, n_classes) from the mean and spread of the real values."""

    def __init__(self, n_classes: int = 2) -> None:
        super().__init__()
        self.head = nn.Linear(2, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mask = ~x.isnan()  # (B, L)
        values = torch.where(mask, x, torch.zeros_like(x))
        count = mask.sum(1, keepdim=True).clamp(min=1)
        mean = values.sum(1, keepdim=True) / count
        spread = ((values - mean) * mask).pow(2).sum(1, keepdim=True) / count
        return self.head(torch.cat([mean, spread.sqrt()], dim=1))


def make_items(n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    items = []
    for _ in range(n):
        centre = rng.choice([-1.0, 1.0])
        length = rng.randint(2, 12)
        values = [rng.gauss(centre * 0.8, 1.0) for _ in range(length)]
        items.append({"values": values, "label": "positive" if centre > 0 else "negative"})
    return items


def sequence_block(**kwargs: Any) -> DataBlock:
    return DataBlock(
        blocks=(SequenceBlock(), CategoryBlock()),
        get_x=ColReader("values"),
        get_y=ColReader("label"),
        splitter=RandomSplitter(0.25, seed=0),
        **kwargs,
    )


# ----------------------------------------------------------------------------- the tests
def test_a_domain_defined_in_a_test_file_trains_exports_and_loads(tmp_path: Path) -> None:
    torch.manual_seed(0)
    dls = sequence_block().dataloaders(make_items(400, seed=1), bs=32, seed=0, device="cpu")
    xb, yb = dls.one_batch()
    assert xb.ndim == 2
    assert xb.isnan().any()
    assert dls.vocab == ["negative", "positive"]
    assert dls.loss_name == "cross_entropy_flat"

    model = build_model("test_masked_mean", n_classes=dls.c)
    learn = Learner(dls, model, metrics=accuracy, path=tmp_path)
    learn.export_spec = model_export_spec(learn, "test_masked_mean", {"n_classes": dls.c})
    learn.fit_one_cycle(4, 5e-2)
    assert learn.validate()[1] > 0.8

    learn.export(tmp_path / "sequences.lamina")
    loaded = load_learner(tmp_path / "sequences.lamina", device="cpu")
    new = make_items(20, seed=2)
    expected, _ = learn.get_preds(dl=learn.dls.test_dl(new))  # items, read by the getters
    raw = [item["values"] for item in new]  # a loaded learner takes what the getters gave
    got, _ = loaded.get_preds(dl=loaded.dls.test_dl(raw))
    torch.testing.assert_close(got, expected)
    assert loaded.dls.vocab == ["negative", "positive"]

    fig = dls.show_batch(max_n=4)
    assert len(fig.axes[0].lines) == 1  # drawn by the block's own `show`


class LengthBuckets:
    """A loader of the block's own: batches of items of similar length, shuffled between
    buckets, collated by the block."""

    def __init__(self, dataset: ItemDataset, bs: int, shuffle: bool, collate: Any) -> None:
        self.dataset, self.bs, self.shuffle, self.collate = dataset, bs, shuffle, collate
        order = sorted(range(len(dataset)), key=lambda i: len(dataset.samples[i][0]))
        self.batches = [order[i : i + bs] for i in range(0, len(order), bs)]

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self) -> Any:
        batches = list(self.batches)
        if self.shuffle:
            random.shuffle(batches)
        for indices in batches:
            yield tuple(self.collate([self.dataset[i] for i in indices]))


@register("block", "test_bucketed_sequence")
class BucketedSequenceBlock(SequenceBlock):
    def dataloader(self, dataset: ItemDataset, settings: dict[str, Any]) -> LengthBuckets:
        from lamina.data.block_loader import collate_for

        blocks = [self, CategoryBlock()]
        return LengthBuckets(dataset, settings["bs"], settings.get("shuffle", False),
                             collate_for(blocks))  # fmt: skip


def test_a_block_can_bring_its_own_loader() -> None:
    torch.manual_seed(0)
    dblock = DataBlock(
        blocks=(BucketedSequenceBlock(), CategoryBlock()),
        get_x=ColReader("values"),
        get_y=ColReader("label"),
        splitter=RandomSplitter(0.25, seed=0),
    )
    dls = dblock.dataloaders(make_items(300, seed=3), bs=16, device="cpu")
    assert isinstance(dls.train, LengthBuckets)
    widths = [xb.shape[1] - int(xb.isnan().all(0).sum()) for xb, _ in dls.train]
    padding = [int(xb.isnan().sum()) for xb, _ in dls.train]
    assert sum(padding) < 0.2 * sum(w * 16 for w in widths)  # similar lengths: little padding
    learn = Learner(dls, build_model("test_masked_mean", n_classes=2), metrics=accuracy)
    learn.fit_one_cycle(3, 5e-2)
    assert learn.validate()[1] > 0.8


def test_an_unregistered_block_cannot_hide_in_an_export() -> None:
    class Unregistered(SequenceBlock):
        pass

    dblock = DataBlock(blocks=(Unregistered(), CategoryBlock()), get_x=ColReader("values"),
                       get_y=ColReader("label"))  # fmt: skip
    dls = dblock.dataloaders(make_items(40, seed=4), bs=8, device="cpu")
    config = dls.export_config()
    assert config["blocks"][0]["name"] is None
    with pytest.raises(ValueError, match="not registered"):
        to_entry("block", Unregistered())
