"""`DataBlock`: a recipe from a source (a folder, a DataFrame) to `DataLoaders`.

source -> get_items -> items -> splitter -> (train, valid)
item -> get_x / get_y -> raw values -> type transforms (per block) -> sample tuple
sample -> item transforms (worker) -> collate -> device -> batch transforms -> batch
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import torch

from lamina.core.device import default_device
from lamina.core.reports import TextReport, show_report
from lamina.data.block_dataloaders import BlockDataLoaders
from lamina.data.block_loader import collate_for
from lamina.data.blocks import TransformBlock
from lamina.data.getters import ColReader
from lamina.data.item_dataset import Datasets, build_datasets
from lamina.data.splitters import RandomSplitter
from lamina.data.transform import Pipeline, Transform

Getter = Callable[[Any], Any]


def _listify(value: Any) -> list:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _as_block(block: Any) -> TransformBlock:
    if isinstance(block, type) and issubclass(block, TransformBlock):
        block = block()
    if not isinstance(block, TransformBlock):
        raise ValueError(f"blocks must be TransformBlock instances (or classes), got {block!r}")
    return block


def merge_tfms(defaults: Sequence[Transform], given: Sequence[Transform]) -> list[Transform]:
    """The blocks' default transforms (each class once) plus all the given ones; a given
    transform replaces the default of the same class."""
    for tfm in given:
        if not isinstance(tfm, Transform):
            raise ValueError(f"transforms must be lamina Transform objects, got {tfm!r}")
    given_types = {type(tfm) for tfm in given}
    merged: dict[type, Transform] = {}
    for tfm in defaults:
        if type(tfm) not in given_types:
            merged.setdefault(type(tfm), tfm)
    return [*merged.values(), *given]


class DataBlock:
    """How to find items, split them, label them and turn them into batches.

    Args:
        blocks: one block per element of a sample, inputs first, e.g. an application's input
            block and `CategoryBlock()`.
        get_items: `source -> items`, e.g. `FileGetter([".txt"])`; None: the source is the
            items (a DataFrame gives its rows as dicts).
        get_x, get_y: `item -> raw value` for the inputs and the targets (one function, or one
            per element); None passes the item itself.
        splitter: `items -> (train_idx, valid_idx)`; default `RandomSplitter(0.2)`.
        item_tfms, batch_tfms: added to the blocks' defaults (replacing those of the same class).
        n_inp: how many leading blocks are inputs (default: all but the last).

    Example:
        >>> dblock = DataBlock(
        ...     blocks=(SequenceBlock(), CategoryBlock()), get_items=FileGetter([".txt"]),
        ...     get_y=parent_label, splitter=RandomSplitter(0.2, seed=42))
        >>> dls = dblock.dataloaders("data/signals", bs=32)
        >>> dblock.summary("data/signals")
    """

    def __init__(
        self,
        blocks: Sequence[TransformBlock | type[TransformBlock]],
        get_items: Callable[[Any], Sequence[Any]] | None = None,
        get_x: Getter | Sequence[Getter] | None = None,
        get_y: Getter | Sequence[Getter] | None = None,
        splitter: Callable[[Sequence[Any]], tuple] | None = None,
        item_tfms: Transform | Sequence[Transform] | None = None,
        batch_tfms: Transform | Sequence[Transform] | None = None,
        n_inp: int | None = None,
    ) -> None:
        self.blocks = [_as_block(block) for block in _listify(blocks)]
        if not self.blocks:
            raise ValueError("blocks must hold at least one block, got none")
        n_blocks = len(self.blocks)
        if n_inp is None:
            n_inp = max(n_blocks - 1, 1)
        if not (isinstance(n_inp, int) and 1 <= n_inp <= n_blocks):
            raise ValueError(f"n_inp must be an integer in [1, {n_blocks}], got {n_inp!r}")
        for name, func in (("get_items", get_items), ("splitter", splitter)):
            if func is not None and not callable(func):
                raise ValueError(f"{name} must be callable or None, got {func!r}")
        self.n_inp, self.get_items = n_inp, get_items
        self.splitter = splitter if splitter is not None else RandomSplitter(0.2)
        self.getters = _getters("get_x", get_x, n_inp) + _getters("get_y", get_y, n_blocks - n_inp)
        self.kinds = tuple(block.kind for block in self.blocks)
        defaults_item = [tfm for block in self.blocks for tfm in block.item_tfms()]
        defaults_batch = [tfm for block in self.blocks for tfm in block.batch_tfms()]
        self.item_tfms, self.batch_tfms = self._arrange(
            merge_tfms(defaults_item, _listify(item_tfms)),
            merge_tfms(defaults_batch, _listify(batch_tfms)),
            None,
        )

    def _arrange(
        self,
        item_tfms: Sequence[Transform],
        batch_tfms: Sequence[Transform],
        device: torch.device | None,
        fuse_augment: bool | str = False,
    ) -> tuple[list[Transform], list[Transform]]:
        """Let each block rearrange the pipelines (see `TransformBlock.arrange_tfms`)."""
        item, batch = list(item_tfms), list(batch_tfms)
        for block in self.blocks:
            item, batch = block.arrange_tfms(item, batch, device, fuse_augment)
        return item, batch

    # ----------------------------------------------------------------------------- building
    def items(self, source: Any) -> list[Any]:
        """The items found in `source` (checked to be non-empty)."""
        if self.get_items is not None:
            items = list(self.get_items(source))
        elif _is_dataframe(source):
            self._check_columns(source.columns)
            items = source.to_dict("records")
        elif isinstance(source, (str, Path)):
            raise ValueError(
                f"source {str(source)!r} is a path but no get_items was given; pass a function "
                "that lists the items, e.g. get_items=get_files or an application's own"
            )
        else:
            items = list(source)
        if not items:
            raise ValueError(_no_items_message(self.get_items, source))
        return items

    def _check_columns(self, columns: Any) -> None:
        for getter in self.getters:
            if isinstance(getter, ColReader):
                getter.check_columns(columns)

    def split(self, items: Sequence[Any]) -> tuple[list[int], list[int]]:
        """Run the splitter and check its result."""
        splits = self.splitter(items)
        if not (isinstance(splits, (tuple, list)) and len(splits) == 2):
            raise ValueError(f"the splitter must return (train_idx, valid_idx), got {splits!r}")
        train, valid = (list(map(int, indices)) for indices in splits)
        bad = [i for i in (*train, *valid) if not 0 <= i < len(items)]
        if bad:
            raise ValueError(f"the splitter returned indices out of range for {len(items)} items")
        return train, valid

    def datasets(self, source: Any, skip_bad_items: bool = False) -> Datasets:
        """The training and validation data sets (labels encoded; lazy elements read later).

        Args:
            skip_bad_items: check each lazy element now and leave out unreadable ones (listed in
                `.skipped`) instead of failing when the item is read.
        """
        return self._datasets(source, self.item_tfms, skip_bad_items)

    def _datasets(
        self, source: Any, item_tfms: Sequence[Transform], skip_bad_items: bool
    ) -> Datasets:
        items = self.items(source)
        return build_datasets(
            items,
            self.blocks,
            self.getters,
            self.split(items),
            Pipeline(item_tfms),
            self.n_inp,
            type_tfms=[block.type_tfms_for(item_tfms, self.kinds) for block in self.blocks],
            skip_bad_items=skip_bad_items,
        )

    def dataloaders(
        self,
        source: Any,
        bs: int = 64,
        num_workers: int = 0,
        device: torch.device | str | None = None,
        shuffle: bool = True,
        drop_last: bool = False,
        seed: int | None = None,
        skip_bad_items: bool = False,
        val_bs: int | None = None,
        multiprocessing_context: str | None = None,
        fuse_augment: bool | str = False,
    ) -> BlockDataLoaders:
        """`BlockDataLoaders` over `source`: training batches shuffled, validation in order.

        `seed` fixes the batch order and the random augmentations (the split has its own seed,
        in the splitter).

        A block may bring its own loader (`TransformBlock.dataloader`) or collation
        (`TransformBlock.collate`); otherwise batches come from a `BlockDataLoader`.

        Args:
            fuse_augment: let the blocks fold batch augmentation into the item stage (one
                application folds its batch warp into its item resize, in the workers). "auto"
                folds where the blocks judge it pays on `device`; True always (a `ValueError`
                says why when it cannot); False (default) never. See
                `TransformBlock.arrange_tfms`.
        """
        device = torch.device(device) if device is not None else default_device()
        item_tfms, batch_tfms = self._arrange(self.item_tfms, self.batch_tfms, device, fuse_augment)
        dsets = self._datasets(source, item_tfms, skip_bad_items)
        return BlockDataLoaders.from_datasets(
            dsets,
            batch_tfms=Pipeline(batch_tfms),
            bs=bs,
            val_bs=val_bs,
            num_workers=num_workers,
            device=device,
            shuffle=shuffle,
            drop_last=drop_last,
            seed=seed,
            multiprocessing_context=multiprocessing_context,
        )

    def summary(self, source: Any, bs: int = 4, show: bool = True) -> TextReport:
        """Walk one item through every step, showing what each produced; a failing step is
        named, with why, and its error re-raised (after the steps that ran are printed).

        Returns the text (a str whose repr is the text). With `show` it is printed in a script,
        and in a notebook shown once: as the cell's result, or when the cell ends.
        """
        lines: list[str] = []
        try:
            _walk_one_item(self, source, bs, lines)
        except BaseException:
            if show:
                print("\n".join(lines))
            raise
        return show_report("\n".join(lines)) if show else TextReport("\n".join(lines))

    def __repr__(self) -> str:
        return (
            f"DataBlock(blocks={self.blocks!r}, get_items={self.get_items!r}, "
            f"splitter={self.splitter!r}, n_inp={self.n_inp})"
        )


def _getters(name: str, getter: Any, n: int) -> list[Getter | None]:
    if isinstance(getter, (list, tuple)):
        if len(getter) != n:
            raise ValueError(f"{name} must hold {n} function(s), one per block, got {len(getter)}")
        getters = list(getter)
    else:
        getters = [getter] * n
    for func in getters:
        if func is not None and not callable(func):
            raise ValueError(f"{name} must be callable or None, got {func!r}")
    return getters


def _is_dataframe(source: Any) -> bool:
    return type(source).__name__ == "DataFrame" and hasattr(source, "to_dict")


def _no_items_message(get_items: Any, source: Any) -> str:
    extensions = getattr(get_items, "extensions", None)
    where = f"in {str(source)!r}" if isinstance(source, (str, Path)) else "in the source"
    searched = f" with extensions {', '.join(extensions)}" if extensions else ""
    by = f" by {getattr(get_items, '__name__', repr(get_items))}" if get_items else ""
    return f"no items found{by} {where}{searched}; check the path and the file types"


# ----------------------------------------------------------------------------- summary
def describe(value: Any, block: TransformBlock | None = None) -> str:
    """A one-line description of a value (the block's own, if it has one): type, shape, dtype,
    and small values."""
    own = None if block is None else block.describe(value)
    if own is not None:
        return own
    if isinstance(value, torch.Tensor):
        text = f"tensor {tuple(value.shape)} {str(value.dtype).replace('torch.', '')}"
        if value.numel() <= 8:
            text += f" {value.tolist()}"
        elif value.numel():
            flat = value.detach().float()
            text += f" min={flat.min().item():.3g} max={flat.max().item():.3g}"
        return text
    if isinstance(value, Path):
        return f"path {value}"
    if isinstance(value, tuple):
        return "(" + ", ".join(describe(item) for item in value) + ")"
    text = repr(value)
    return f"{type(value).__name__} {text[:80]}{'...' if len(text) > 80 else ''}"


def _run(lines: list[str], name: str, func: Callable[[], Any]) -> Any:
    try:
        return func()
    except Exception as error:
        lines.append(f"FAILED at step '{name}': {type(error).__name__}: {error}")
        raise


def _walk_one_item(dblock: DataBlock, source: Any, bs: int, lines: list[str]) -> None:
    items = _run(lines, "get_items", lambda: dblock.items(source))
    lines.append(f"get_items: {len(items)} items; first: {describe(items[0])}")
    train, valid = _run(lines, "splitter", lambda: dblock.split(items))
    lines.append(
        f"splitter {type(dblock.splitter).__name__}: {len(train)} train, {len(valid)} valid"
    )
    dsets = _run(lines, "build datasets", lambda: dblock.datasets(source))
    if dsets.vocab is not None:
        lines.append(f"vocab ({len(dsets.vocab)}): {describe(dsets.vocab)}")
    item = items[train[0]] if train else items[0]
    lines.append(f"walking item: {describe(item)}")
    sample = []
    for element, (getter, kind) in enumerate(zip(dblock.getters, dblock.kinds, strict=True)):
        name = "get_x" if element < dblock.n_inp else "get_y"
        value = item if getter is None else _run(lines, name, partial(getter, item))
        lines.append(f"  {name} ({kind}) -> {describe(value, dblock.blocks[element])}")
        for tfm in dsets.type_tfms[element]:
            value = _run(lines, f"type transform {type(tfm).__name__}",
                         partial(tfm.encode, value, kind))  # fmt: skip
            lines.append(f"  type transform {type(tfm).__name__} -> "
                         f"{describe(value, dblock.blocks[element])}")  # fmt: skip
        sample.append(value)
    _walk_transforms(dblock, dsets, tuple(sample), bs, lines)


def _describe_sample(sample: tuple, blocks: list[TransformBlock]) -> str:
    return (
        "("
        + ", ".join(describe(value, block) for value, block in zip(sample, blocks, strict=True))
        + ")"
    )


def _walk_transforms(
    dblock: DataBlock, dsets: Datasets, sample: tuple, bs: int, lines: list[str]
) -> None:
    for tfm in Pipeline(dblock.item_tfms).tfms:
        name = f"item transform {type(tfm).__name__}"
        sample = _run(lines, name, partial(tfm, sample, dblock.kinds, 0))
        lines.append(f"{name} -> {_describe_sample(sample, dblock.blocks)}")
    n = min(bs, len(dsets.train))
    collate = collate_for(dblock.blocks)
    batch = _run(lines, "collate", lambda: collate([dsets.train[i] for i in range(n)]))
    batch = tuple(batch)
    lines.append(f"collate {n} items -> {describe(batch)}")
    for tfm in Pipeline(dblock.batch_tfms).tfms:
        name = f"batch transform {type(tfm).__name__}"
        batch = _run(lines, name, partial(tfm, batch, dblock.kinds, 0))
        lines.append(f"{name} -> {describe(batch)}")
