"""Finding items and reading labels: `get_files`, `parent_label`, `RegexLabeller`, `ColReader`.

Everything here is a module-level function or a small class, never a closure, so DataBlocks
built from them work in worker processes started by spawn.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any


def _normalise_extensions(extensions: Iterable[str] | str | None) -> set[str] | None:
    if extensions is None:
        return None
    if isinstance(extensions, str):
        extensions = [extensions]
    return {("." + ext.lstrip(".")).lower() for ext in extensions}


def _files_in(folder: str, names: list[str], extensions: set[str] | None) -> list[Path]:
    return [
        Path(folder, name)
        for name in names
        if not name.startswith(".")
        and (extensions is None or os.path.splitext(name)[1].lower() in extensions)
    ]


def get_files(
    path: str | os.PathLike,
    extensions: Iterable[str] | str | None = None,
    recurse: bool = True,
    folders: Sequence[str] | str | None = None,
) -> list[Path]:
    """Files under `path` whose suffix is in `extensions` (any when None), sorted.

    Hidden files and folders (starting with ".") are skipped. The order is deterministic: sorted
    by full path, whatever the file system returns.

    Args:
        extensions: suffixes to keep, with or without the dot, case-insensitive.
        recurse: descend into sub-folders.
        folders: only look in these immediate sub-folders of `path` (e.g. `["train", "valid"]`).
    """
    path = Path(path)
    if not path.is_dir():
        raise ValueError(f"get_files: {path} is not a folder")
    wanted = _normalise_extensions(extensions)
    if isinstance(folders, str):
        folders = [folders]
    roots = [path / folder for folder in folders] if folders else [path]
    files: list[Path] = []
    for root in roots:
        if not recurse:
            if root.is_dir():
                names = [entry.name for entry in os.scandir(root) if entry.is_file()]
                files += _files_in(str(root), names, wanted)
            continue
        for folder, subfolders, names in os.walk(root):
            subfolders[:] = [name for name in subfolders if not name.startswith(".")]
            files += _files_in(folder, names, wanted)
    return sorted(files)


class FileGetter:
    """`get_files` with fixed extensions, as a picklable callable (works in spawned workers).

    Example:
        >>> get_csv_files = FileGetter([".csv"], name="get_csv_files")
        >>> files = get_csv_files("data", folders=["train"])
    """

    def __init__(self, extensions: Iterable[str] | str, name: str = "get_files") -> None:
        wanted = _normalise_extensions(extensions)
        if not wanted:
            raise ValueError(f"extensions must name at least one suffix, got {extensions!r}")
        self.extensions = tuple(sorted(wanted))
        self.__name__ = name

    def __call__(
        self,
        path: str | os.PathLike,
        recurse: bool = True,
        folders: Sequence[str] | str | None = None,
    ) -> list[Path]:
        """Files under `path` with these extensions, sorted."""
        return get_files(path, self.extensions, recurse=recurse, folders=folders)

    def __repr__(self) -> str:
        return self.__name__


def parent_label(item: str | os.PathLike) -> str:
    """The name of the folder holding `item`: `.../train/spam/1.txt` -> `"spam"`."""
    return Path(item).parent.name


def grandparent_label(item: str | os.PathLike) -> str:
    """The name of the folder two levels up: `.../train/spam/1.txt` -> `"train"`."""
    return Path(item).parent.parent.name


class RegexLabeller:
    """The first group of `pattern` found in an item's file name (or whole path).

    Args:
        pattern: a regular expression with one group, e.g. `r"^([a-z_]+)_\\d+\\.txt$"`.
        match: require the pattern to match from the start (`re.match`) instead of anywhere.
        on: `"name"` to search the file name, `"path"` the whole path.

    Example:
        >>> RegexLabeller(r"^(.*)_\\d+\\.txt$")("reviews/very_good_12.txt")
        'very_good'
    """

    def __init__(self, pattern: str, match: bool = False, on: str = "name") -> None:
        try:
            self.regex = re.compile(pattern)
        except re.error as error:
            raise ValueError(
                f"pattern {pattern!r} is not a valid regular expression: {error}"
            ) from None
        if self.regex.groups < 1:
            raise ValueError(f"pattern {pattern!r} must have a group, e.g. r'^(.*)_\\d+'")
        if on not in ("name", "path"):
            raise ValueError(f"on must be 'name' or 'path', got {on!r}")
        self.pattern, self.match, self.on = pattern, match, on

    def __call__(self, item: str | os.PathLike) -> str:
        text = Path(item).name if self.on == "name" else str(item)
        found = self.regex.match(text) if self.match else self.regex.search(text)
        if found is None:
            raise ValueError(f"RegexLabeller: pattern {self.pattern!r} does not match {text!r}")
        return found.group(1)

    def config(self) -> dict[str, Any]:
        """JSON constructor arguments."""
        return {"pattern": self.pattern, "match": self.match, "on": self.on}

    def __repr__(self) -> str:
        return f"RegexLabeller({self.pattern!r}, match={self.match})"


class ColReader:
    """Read column(s) `cols` from a row (a pandas Series, a dict, or a DataFrame row as dict).

    Args:
        cols: a column name (or index), or a list of them (the values come back as a tuple).
        pref, suff: text put before/after each value (e.g. a folder and an extension); when
            `pref` is a `Path` the result is a `Path`.
        label_delim: split each value on this string into a list of labels (multi-label).

    Example:
        >>> ColReader("fname", pref="files/")({"fname": "a.txt", "label": "spam"})
        'files/a.txt'
    """

    def __init__(
        self,
        cols: str | int | Sequence[str | int],
        pref: str | os.PathLike = "",
        suff: str = "",
        label_delim: str | None = None,
    ) -> None:
        if isinstance(cols, (list, tuple)):
            if not cols:
                raise ValueError("cols must name at least one column, got []")
            self.cols = list(cols)
        else:
            self.cols = [cols]
        if label_delim is not None and not (isinstance(label_delim, str) and label_delim):
            raise ValueError(f"label_delim must be a non-empty string or None, got {label_delim!r}")
        self.single = not isinstance(cols, (list, tuple))
        self.pref, self.suff, self.label_delim = pref, suff, label_delim

    def check_columns(self, columns: Iterable[Any]) -> None:
        """Raise a `ValueError` naming any of `cols` missing from `columns`."""
        columns = list(columns)
        for col in self.cols:
            if col not in columns:
                raise ValueError(f"column {col!r} not found; available columns: {columns}")

    def _read(self, row: Any, col: str | int) -> Any:
        try:
            value = row[col]
        except (KeyError, IndexError):
            available = list(row.keys()) if hasattr(row, "keys") else f"{len(row)} values"
            raise ValueError(f"column {col!r} not found; available columns: {available}") from None
        if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
            value = value.item()  # NumPy scalar -> Python, so labels stay JSON-able
        if self.pref or self.suff:
            text = f"{self.pref}{value}{self.suff}"
            value = Path(self.pref, f"{value}{self.suff}") if isinstance(self.pref, Path) else text
        if self.label_delim is not None:
            value = [] if value is None or value != value else str(value).split(self.label_delim)
        return value

    def __call__(self, row: Any) -> Any:
        values = tuple(self._read(row, col) for col in self.cols)
        return values[0] if self.single else values

    def config(self) -> dict[str, Any]:
        """JSON constructor arguments."""
        cols = self.cols[0] if self.single else list(self.cols)
        return {"cols": cols, "pref": str(self.pref), "suff": self.suff,
                "label_delim": self.label_delim}  # fmt: skip

    def __repr__(self) -> str:
        return f"ColReader({self.cols if not self.single else self.cols[0]!r})"
