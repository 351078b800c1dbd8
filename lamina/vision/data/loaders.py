"""`ImageDataLoaders` and `SegmentationDataLoaders`: image data in one call, for common layouts.

Each factory builds a `DataBlock` and returns its `BlockDataLoaders`; `DataBlock` gives full
control when no factory fits.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from lamina.data.block_dataloaders import BlockDataLoaders
from lamina.data.blocks import CategoryBlock, MultiCategoryBlock
from lamina.data.datablock import DataBlock
from lamina.data.getters import ColReader, RegexLabeller, parent_label
from lamina.data.splitters import ColSplitter, GrandparentSplitter, RandomSplitter
from lamina.data.transform import Transform
from lamina.vision.data.blocks import ImageBlock, MaskBlock
from lamina.vision.data.files import get_image_files

Tfms = Transform | Sequence[Transform] | None


def _check_pct(valid_pct: float | None) -> None:
    if valid_pct is not None and not (isinstance(valid_pct, (int, float)) and 0 < valid_pct < 1):
        raise ValueError(f"valid_pct must be a fraction in (0, 1) or None, got {valid_pct!r}")


def _loaders(
    dblock: DataBlock,
    source: Any,
    bs: int,
    num_workers: int,
    device: torch.device | str | None,
    seed: int | None,
    skip_bad_items: bool,
    kwargs: dict[str, Any],
) -> BlockDataLoaders:
    return dblock.dataloaders(
        source,
        bs=bs,
        num_workers=num_workers,
        device=device,
        seed=seed,
        skip_bad_items=skip_bad_items,
        **kwargs,
    )


class ImageDataLoaders:
    """Factories for image classification data (`ImageDataLoaders.from_folder(path)`, ...).

    Each returns `BlockDataLoaders`; common arguments: `item_tfms` (e.g. `Resize(224)`),
    `batch_tfms` (e.g. `aug_transforms()`), `bs`, `num_workers`, `device`, `seed` (fixes the
    split and the batch order), `img_mode` ("RGB" or "L"), `skip_bad_items`; any other keyword
    goes to `DataBlock.dataloaders` (`shuffle`, `drop_last`, `val_bs`, ...).
    """

    @staticmethod
    def from_folder(
        path: str | Path,
        train: str = "train",
        valid: str = "valid",
        valid_pct: float | None = None,
        seed: int | None = None,
        vocab: Sequence[Any] | None = None,
        item_tfms: Tfms = None,
        batch_tfms: Tfms = None,
        bs: int = 64,
        num_workers: int = 0,
        device: torch.device | str | None = None,
        img_mode: str = "RGB",
        skip_bad_items: bool = False,
        **kwargs: Any,
    ) -> BlockDataLoaders:
        """Images in class folders, labelled by their parent folder's name.

        With `path/train` and `path/valid` folders (and no `valid_pct`), those are the splits:
        `path/train/cat/1.jpg`. Otherwise a random `valid_pct` (default 0.2) of all images under
        `path` is held out: `path/cat/1.jpg`.

        Example:
            >>> dls = ImageDataLoaders.from_folder(
            ...     "hymenoptera", valid="val", item_tfms=Resize(128), batch_tfms=aug_transforms()
            ... )
            >>> xb, yb = dls.one_batch()
        """
        _check_pct(valid_pct)
        path = Path(path)
        if not path.is_dir():
            raise ValueError(f"from_folder: {path} is not a folder")
        has_folders = (path / train).is_dir() and (path / valid).is_dir()
        if valid_pct is None and has_folders:
            get_items: Callable[..., list[Path]] = functools.partial(
                get_image_files, folders=[train, valid]
            )
            splitter: Callable = GrandparentSplitter(train_name=train, valid_name=valid)
        else:
            get_items, splitter = get_image_files, RandomSplitter(valid_pct or 0.2, seed=seed)
        dblock = DataBlock(
            blocks=(ImageBlock(img_mode), CategoryBlock(vocab=vocab)),
            get_items=get_items,
            get_y=parent_label,
            splitter=splitter,
            item_tfms=item_tfms,
            batch_tfms=batch_tfms,
        )
        return _loaders(dblock, path, bs, num_workers, device, seed, skip_bad_items, kwargs)

    @staticmethod
    def from_path_func(
        path: str | Path,
        fnames: Sequence[str | Path],
        label_func: Callable[[Any], Any],
        valid_pct: float = 0.2,
        seed: int | None = None,
        item_tfms: Tfms = None,
        batch_tfms: Tfms = None,
        bs: int = 64,
        num_workers: int = 0,
        device: torch.device | str | None = None,
        img_mode: str = "RGB",
        skip_bad_items: bool = False,
        **kwargs: Any,
    ) -> BlockDataLoaders:
        """Images `fnames`, labelled by `label_func(path)` (a module-level function)."""
        items = [Path(path, fname) for fname in fnames]
        return _from_items(items, None, label_func, valid_pct=valid_pct, seed=seed,
                           item_tfms=item_tfms, batch_tfms=batch_tfms, bs=bs,
                           num_workers=num_workers, device=device, img_mode=img_mode,
                           skip_bad_items=skip_bad_items, **kwargs)  # fmt: skip

    @staticmethod
    def from_name_func(
        path: str | Path,
        fnames: Sequence[str | Path],
        label_func: Callable[[str], Any],
        **kwargs: Any,
    ) -> BlockDataLoaders:
        """Images `fnames`, labelled by `label_func(file_name)`; other arguments as
        `from_path_func`."""
        return ImageDataLoaders.from_path_func(path, fnames, _NameLabel(label_func), **kwargs)

    @staticmethod
    def from_name_re(
        path: str | Path, fnames: Sequence[str | Path], pat: str, **kwargs: Any
    ) -> BlockDataLoaders:
        """Images `fnames`, labelled by the first group of regex `pat` on the file name."""
        return ImageDataLoaders.from_path_func(path, fnames, RegexLabeller(pat), **kwargs)

    @staticmethod
    def from_lists(
        path: str | Path,
        fnames: Sequence[str | Path],
        labels: Sequence[Any],
        **kwargs: Any,
    ) -> BlockDataLoaders:
        """Images `fnames` (under `path`) with their `labels`, given in the same order."""
        if len(fnames) != len(labels):
            raise ValueError(f"fnames and labels differ in length: {len(fnames)} != {len(labels)}")
        items = [(Path(path, fname), label) for fname, label in zip(fnames, labels, strict=True)]
        return _from_items(items, operator.itemgetter(0), operator.itemgetter(1), **kwargs)

    @staticmethod
    def from_df(
        df: Any,
        path: str | Path = ".",
        valid_pct: float = 0.2,
        seed: int | None = None,
        fn_col: str | int = 0,
        folder: str | None = None,
        suff: str = "",
        label_col: str | int = 1,
        label_delim: str | None = None,
        valid_col: str | None = None,
        **kwargs: Any,
    ) -> BlockDataLoaders:
        """Images named in column `fn_col` of a DataFrame (under `path/folder`, plus `suff`),
        labelled by column `label_col` (split on `label_delim` for several labels per image).

        `valid_col`: a boolean column marking the validation rows (else a random `valid_pct`).
        """
        _check_pct(valid_pct)
        fn_col, label_col = _column(df, fn_col), _column(df, label_col)
        prefix = Path(path, folder) if folder else Path(path)
        get_x = ColReader(fn_col, pref=prefix, suff=suff)
        get_y = ColReader(label_col, label_delim=label_delim)
        if valid_col is not None:
            ColReader(valid_col).check_columns(df.columns)
        splitter = ColSplitter(valid_col) if valid_col else RandomSplitter(valid_pct, seed=seed)
        return _from_items(
            df, get_x, get_y, splitter=splitter, seed=seed, multi=label_delim is not None, **kwargs
        )

    @staticmethod
    def from_csv(
        path: str | Path,
        csv_fname: str = "labels.csv",
        header: int | str | None = "infer",
        delimiter: str = ",",
        **kwargs: Any,
    ) -> BlockDataLoaders:
        """As `from_df`, reading the table from `path/csv_fname`."""
        import pandas as pd

        csv_path = Path(path, csv_fname)
        if not csv_path.is_file():
            raise ValueError(f"from_csv: no such file {csv_path}")
        df = pd.read_csv(csv_path, header=header, delimiter=delimiter)
        return ImageDataLoaders.from_df(df, path=path, **kwargs)


def _column(df: Any, col: str | int) -> str | int:
    """A column given by name or position, as its name (an int for a frame read without a
    header); a clear error when absent."""
    columns = list(df.columns)
    if isinstance(col, int) and col not in columns:
        if not -len(columns) <= col < len(columns):
            raise ValueError(f"column index {col} is out of range; available columns: {columns}")
        return columns[col]
    if col not in columns:
        raise ValueError(f"column {col!r} not found; available columns: {columns}")
    return col


class _NameLabel:
    """`label_func` applied to a path's file name (a class, so it survives spawn)."""

    def __init__(self, label_func: Callable[[str], Any]) -> None:
        self.label_func = label_func

    def __call__(self, item: str | Path) -> Any:
        return self.label_func(Path(item).name)


def _from_items(
    source: Any,
    get_x: Callable | None,
    get_y: Callable,
    splitter: Callable | None = None,
    valid_pct: float = 0.2,
    seed: int | None = None,
    multi: bool = False,
    item_tfms: Tfms = None,
    batch_tfms: Tfms = None,
    bs: int = 64,
    num_workers: int = 0,
    device: torch.device | str | None = None,
    img_mode: str = "RGB",
    skip_bad_items: bool = False,
    **kwargs: Any,
) -> BlockDataLoaders:
    _check_pct(valid_pct)
    dblock = DataBlock(
        blocks=(ImageBlock(img_mode), MultiCategoryBlock() if multi else CategoryBlock()),
        get_x=get_x,
        get_y=get_y,
        splitter=splitter or RandomSplitter(valid_pct, seed=seed),
        item_tfms=item_tfms,
        batch_tfms=batch_tfms,
    )
    return _loaders(dblock, source, bs, num_workers, device, seed, skip_bad_items, kwargs)


class SegmentationDataLoaders:
    """Factories for segmentation data: images and masks of class indices."""

    @staticmethod
    def from_label_func(
        path: str | Path,
        fnames: Sequence[str | Path],
        label_func: Callable[[Any], Any],
        valid_pct: float = 0.2,
        seed: int | None = None,
        codes: Sequence[Any] | None = None,
        item_tfms: Tfms = None,
        batch_tfms: Tfms = None,
        bs: int = 64,
        num_workers: int = 0,
        device: torch.device | str | None = None,
        img_mode: str = "RGB",
        skip_bad_items: bool = False,
        **kwargs: Any,
    ) -> BlockDataLoaders:
        """Images `fnames` (under `path`), each with the mask at `label_func(image_path)`.

        Args:
            codes: the name of each class index in the masks.
        """
        _check_pct(valid_pct)
        dblock = DataBlock(
            blocks=(ImageBlock(img_mode), MaskBlock(codes)),
            get_y=label_func,
            splitter=RandomSplitter(valid_pct, seed=seed),
            item_tfms=item_tfms,
            batch_tfms=batch_tfms,
        )
        items = [Path(path, fname) for fname in fnames]
        return _loaders(dblock, items, bs, num_workers, device, seed, skip_bad_items, kwargs)
