"""`TextDataLoaders`: text data for a language model or a classifier in one call.

Each factory builds a `DataBlock` of a `TextBlock` (and a `CategoryBlock` for a classifier) and
returns `TextDataLoaders`, which are `BlockDataLoaders` that also know the token vocabulary
(`text_vocab`). For a language model `dls.vocab` is the token vocabulary too (the target of a
language model is the next token); for a classifier it is `[tokens, labels]`, as in fastai, and
`dls.target_vocab` is the labels alone.

Missing cells (NaN) are read as empty documents; an empty document is kept (as `xxbos` alone,
so nothing is dropped without a word). A file that is not UTF-8 is an error naming it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lamina.data.block_dataloaders import BlockDataLoaders
from lamina.data.blocks import CategoryBlock
from lamina.data.datablock import DataBlock
from lamina.data.getters import ColReader, FileGetter, parent_label
from lamina.data.splitters import ColSplitter, GrandparentSplitter, RandomSplitter
from lamina.text.blocks import TextBlock
from lamina.text.transforms import Numericalize

if TYPE_CHECKING:
    import pandas as pd

get_text_files = FileGetter([".txt"], name="get_text_files")
"""Text files (`.txt`) under `path`, sorted: `get_text_files(path, recurse, folders)`."""


def read_text_file(path: str | Path) -> str:
    """The text of a UTF-8 file; an error naming the file (and the byte at fault) otherwise."""
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        bad = data[error.start : error.start + 1]
        raise ValueError(
            f"{path} is not UTF-8 text (byte {error.start}: {bad!r}); convert it, e.g. with "
            "iconv -f latin1 -t utf-8"
        ) from None


def token_vocab(dls: Any) -> list[str]:
    """The token vocabulary of text loaders, or of a loaded learner's (the fitted
    `Numericalize`'s)."""
    holder = getattr(dls, "datasets", None) or getattr(dls, "pipeline", None)
    for tfms in getattr(holder, "type_tfms", []):
        for tfm in tfms:
            if isinstance(tfm, Numericalize) and tfm.vocab is not None:
                return list(tfm.vocab)
    raise ValueError("these loaders hold no text: build them with TextDataLoaders or a TextBlock")


class TextDataLoaders(BlockDataLoaders):
    """Loaders of documents; build them with `from_df`, `from_csv` or `from_folder`.

    Common arguments: `is_lm` (language model instead of classifier), `text_vocab` (reuse a
    language model's vocabulary, so a classifier shares its encoder's ids), `bs`, `seq_len`
    (language-model window), `min_freq`, `max_vocab`, `tokenizer` ("words" or "subword"),
    `seed` (fixes the split, the batch order and the windows), `device`.
    """

    @property
    def text_vocab(self) -> list[str]:
        """The token vocabulary (id -> token)."""
        return token_vocab(self)

    @classmethod
    def from_df(
        cls,
        df: pd.DataFrame,
        text_col: str = "text",
        label_col: str | None = "label",
        valid_col: str | None = None,
        valid_pct: float = 0.2,
        is_lm: bool = False,
        text_vocab: Sequence[str] | None = None,
        seed: int | None = None,
        **kwargs: Any,
    ) -> TextDataLoaders:
        """Documents in `df[text_col]`, labels in `df[label_col]` (ignored for a language model).

        Args:
            valid_col: a boolean column marking the validation rows; else a random `valid_pct`.

        Example:
            >>> dls = TextDataLoaders.from_df(df, text_col="text", label_col="label", seed=0)
            >>> learn = text_classifier_learner(dls, "awd_lstm", metrics=accuracy)
        """
        if not is_lm and label_col is None:
            raise ValueError("label_col must name the label column of a classifier's data")
        splitter = ColSplitter(valid_col) if valid_col else RandomSplitter(valid_pct, seed=seed)
        get_y = None if is_lm or label_col is None else ColReader(label_col)
        dblock = _datablock(is_lm, text_vocab, ColReader(text_col), get_y, splitter, kwargs)
        return cls._build(dblock, df, seed, kwargs)

    @classmethod
    def from_csv(cls, path: str | Path, **kwargs: Any) -> TextDataLoaders:
        """`from_df` on `pandas.read_csv(path)`; `kwargs` go to `from_df`."""
        import pandas as pd

        return cls.from_df(pd.read_csv(path), **kwargs)

    @classmethod
    def from_folder(
        cls,
        path: str | Path,
        train: str = "train",
        valid: str = "valid",
        is_lm: bool = False,
        text_vocab: Sequence[str] | None = None,
        seed: int | None = None,
        **kwargs: Any,
    ) -> TextDataLoaders:
        """`.txt` files under `path/train/<label>/` and `path/valid/<label>/`.

        A language model reads every `.txt` file of both folders (any sub-folders).
        """
        get_items = get_text_files
        splitter: Any = (
            _FolderSplitter(train, valid) if is_lm else GrandparentSplitter(train, valid)
        )
        dblock = _datablock(is_lm, text_vocab, read_text_file, None if is_lm else parent_label,
                            splitter, kwargs, get_items=get_items)  # fmt: skip
        return cls._build(dblock, Path(path), seed, kwargs)

    @classmethod
    def _build(cls, dblock: DataBlock, source: Any, seed: int | None, kwargs: dict) -> Any:
        dsets = dblock.datasets(source)
        return cls.from_datasets(dsets, seed=seed, **kwargs)


_BLOCK_ARGS = ("min_freq", "max_vocab", "tokenizer", "subword_vocab_size", "seq_len")


def _datablock(
    is_lm: bool,
    text_vocab: Sequence[str] | None,
    get_x: Any,
    get_y: Any,
    splitter: Any,
    kwargs: dict[str, Any],
    get_items: Any = None,
) -> DataBlock:
    block_args = {name: kwargs.pop(name) for name in _BLOCK_ARGS if name in kwargs}
    text = TextBlock(is_lm=is_lm, vocab=text_vocab, **block_args)
    if is_lm:
        return DataBlock(blocks=(text,), get_items=get_items, get_x=get_x, splitter=splitter,
                         n_inp=1)  # fmt: skip
    return DataBlock(blocks=(text, CategoryBlock()), get_items=get_items, get_x=get_x,
                     get_y=get_y, splitter=splitter)  # fmt: skip


class _FolderSplitter:
    """Files under a `valid` folder (at any depth below the root's first level) validate."""

    def __init__(self, train: str, valid: str) -> None:
        self.train, self.valid = train, valid

    def __call__(self, items: Sequence[Any]) -> tuple[list[int], list[int]]:
        valid = [i for i, item in enumerate(items) if self.valid in Path(item).parts]
        chosen = set(valid)
        return [i for i in range(len(items)) if i not in chosen], valid
