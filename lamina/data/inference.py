"""`InferencePipeline`: the preprocessing of block-built data, rebuilt from its exported JSON."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import torch

from lamina.core.device import default_device, to_device
from lamina.core.registry import from_entry
from lamina.data.block_loader import DATA_FORMAT, DATA_FORMAT_VERSION, collate_for
from lamina.data.blocks import TransformBlock
from lamina.data.item_dataset import ItemDataset
from lamina.data.loaders import DataLoaders, TargetInfo
from lamina.data.transform import Pipeline, Transform, transform_from_config
from lamina.data.vocab import loaders_vocab


def block_from_config(item: dict[str, Any]) -> TransformBlock:
    """Rebuild a block from `{"name": registered name, "args": config}` (no code is run)."""
    block = from_entry("block", item)
    if not isinstance(block, TransformBlock):
        raise ValueError(f"{item['name']!r} is registered as a block but is not a TransformBlock")
    return block


class InferencePipeline:
    """Preprocessing rebuilt from `BlockDataLoaders.export_config()`: raw inputs -> a batch.

    Inputs are what the getters produced during training: a path, a value in memory (a tuple of
    them when there are several inputs).

    Example:
        >>> pipe = InferencePipeline.from_config(dls.export_config())
        >>> (xb,) = pipe.batch(["item_1.txt"])    # a batch of one, on the device
        >>> pipe.decode_target(torch.tensor(2))    # index -> label
    """

    def __init__(
        self,
        kinds: Sequence[str],
        n_inp: int,
        type_tfms: Sequence[Sequence[Transform]],
        item_tfms: Pipeline,
        batch_tfms: Pipeline,
        device: torch.device | str | None = None,
        blocks: Sequence[TransformBlock] | None = None,
    ) -> None:
        self.kinds, self.n_inp = tuple(kinds), n_inp
        self.type_tfms = [list(tfms) for tfms in type_tfms]
        self.item_tfms, self.batch_tfms = item_tfms, batch_tfms
        self.device = torch.device(device) if device is not None else default_device()
        self.blocks = None if blocks is None else list(blocks)
        self.collate = collate_for(None if self.blocks is None else self.blocks[:n_inp])

    @classmethod
    def from_config(
        cls, config: dict[str, Any], device: torch.device | str | None = None
    ) -> InferencePipeline:
        """Rebuild from JSON, looking every transform up by registered name (no code is run)."""
        if config.get("format") != DATA_FORMAT:
            raise ValueError(f"not a lamina data config (format {config.get('format')!r})")
        version = config.get("format_version")
        if not isinstance(version, int) or version > DATA_FORMAT_VERSION:
            raise ValueError(f"data config version {version!r} is newer than this lamina reads")
        type_tfms = [[transform_from_config(item) for item in tfms] for tfms in config["type_tfms"]]
        return cls(
            config["kinds"],
            int(config["n_inp"]),
            type_tfms,
            Pipeline.from_config(config["item_tfms"]),
            Pipeline.from_config(config["batch_tfms"]),
            device,
            blocks=_blocks(config.get("blocks")),
        )

    def dataset(self, items: Sequence[Any]) -> ItemDataset:
        """A validation-mode data set over raw inputs."""
        samples = [tuple(item) if self.n_inp > 1 else (item,) for item in items]
        names = [str(item) if not hasattr(item, "shape") else f"input {i}"
                 for i, item in enumerate(items)]  # fmt: skip
        kinds = self.kinds[: self.n_inp]
        return ItemDataset(samples, names, kinds, self.type_tfms[: self.n_inp], self.item_tfms, 1)

    def batch(self, items: Sequence[Any]) -> tuple[torch.Tensor, ...]:
        """Raw inputs -> the model's input batch, on the device, batch-transformed."""
        if not len(items):
            raise ValueError("batch needs at least one item")
        dataset = self.dataset(items)
        batch = self.collate([dataset[i] for i in range(len(dataset))])
        batch = to_device(tuple(batch), self.device)
        return self.batch_tfms(batch, self.kinds[: self.n_inp], 1)

    def one(self, item: Any) -> tuple[torch.Tensor, ...]:
        """One raw input (a path or a value in memory) -> a batch of one."""
        return self.batch([item])

    def decode_target(self, value: Any, element: int | None = None) -> Any:
        """A target value (index, multi-hot, ...) -> its label(s), for target `element`."""
        element = self.n_inp if element is None else element
        for tfm in reversed(self.type_tfms[element]):
            value = tfm.decode(value, self.kinds[element])
        return value


def _blocks(config: Any) -> list[TransformBlock] | None:
    # Exports whose blocks were not all registered (a user's own block) collate by default.
    if not isinstance(config, list) or not config:
        return None
    if any(not isinstance(item, dict) or item.get("name") is None for item in config):
        return None
    return [block_from_config(item) for item in config]


class ItemBatches:
    """Batches of raw inputs through an `InferencePipeline` (inputs only, no targets)."""

    def __init__(self, pipeline: InferencePipeline, items: Sequence[Any], bs: int = 64) -> None:
        if not (isinstance(bs, int) and bs >= 1):
            raise ValueError(f"bs must be a positive integer, got {bs!r}")
        self.pipeline, self.items, self.bs = pipeline, list(items), bs
        self.device = pipeline.device

    def __len__(self) -> int:
        return -(-len(self.items) // self.bs)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        for start in range(0, len(self.items), self.bs):
            yield self.pipeline.batch(self.items[start : start + self.bs])


class InferenceLoaders(DataLoaders):
    """What a loaded learner has instead of training data: the inference pipeline and what the
    data config records (kinds, vocab, c, loss name). It holds no training or validation set;
    `test_dl(items)` gives batches of new items, e.g. for `learn.get_preds(dl=...)`."""

    def __init__(self, pipeline: InferencePipeline, config: dict[str, Any]) -> None:
        target = TargetInfo(
            loss_name=config.get("loss_name"),
            loss_kwargs=dict(config.get("loss_kwargs") or {}),
            activation=config.get("activation"),
            metric_names=list(config.get("metric_names") or []),
            c=config.get("c"),
            vocab=config.get("vocab"),
        )
        super().__init__((), None, device=pipeline.device, n_inp=pipeline.n_inp, target=target)
        self.pipeline, self.config, self.kinds = pipeline, config, pipeline.kinds
        self.target_vocab = self.vocab
        self.vocab = loaders_vocab(pipeline.type_tfms, self.vocab)

    def test_dl(
        self, items: Sequence[Any], with_labels: bool | None = None, bs: int | None = None
    ) -> ItemBatches:
        """Batches of new raw `items` (inputs only) with the validation transforms."""
        if with_labels:
            raise ValueError("a loaded learner has no getters to label items: pass inputs only")
        return ItemBatches(self.pipeline, items, bs or 64)

    def export_config(self) -> dict[str, Any]:
        """The data config this was built from."""
        return self.config
