"""Getters and labellers: get_files, parent_label, RegexLabeller, ColReader."""

from __future__ import annotations

from pathlib import Path

import pytest

from lamina.data.getters import ColReader, RegexLabeller, get_files, grandparent_label, parent_label
from lamina.vision.data.files import get_image_files


def _touch(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")


def test_get_files_sorted_filtered_and_recursive(tmp_path: Path) -> None:
    _touch(tmp_path, "b/2.JPG", "a/1.png", "a/sub/3.jpg", "c.txt", ".hidden/4.jpg", "a/.5.jpg")
    files = get_files(tmp_path, extensions=["jpg", ".png"])
    assert files == [tmp_path / "a/1.png", tmp_path / "a/sub/3.jpg", tmp_path / "b/2.JPG"]
    assert get_files(tmp_path / "a", extensions=".jpg", recurse=False) == []
    assert get_files(tmp_path, recurse=False) == [tmp_path / "c.txt"]
    assert get_files(tmp_path, ".jpg", folders=["b"]) == [tmp_path / "b/2.JPG"]
    assert get_image_files(tmp_path) == files


def test_get_files_rejects_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="nope is not a folder"):
        get_files(tmp_path / "nope")


def test_parent_and_grandparent_labels() -> None:
    assert parent_label("data/train/cat/1.jpg") == "cat"
    assert grandparent_label(Path("data/train/cat/1.jpg")) == "train"


def test_regex_labeller_reads_the_group_and_names_unmatched_files() -> None:
    labeller = RegexLabeller(r"^(.+)_\d+\.jpg$")
    assert labeller("images/great_pyrenees_12.jpg") == "great_pyrenees"
    assert RegexLabeller(r"(\d+)", match=False)("x/cat_07.png") == "07"
    assert RegexLabeller(r"/(\w+)/", on="path")("root/dog/1.png") == "dog"
    with pytest.raises(ValueError, match="does not match 'oops.png'"):
        labeller("images/oops.png")
    with pytest.raises(ValueError, match=r"match=True|does not match"):
        RegexLabeller(r"(\d+)", match=True)("cat_07.png")


@pytest.mark.parametrize(("pattern", "message"), [("(", "not a valid"), ("abc", "group")])
def test_regex_labeller_validates_the_pattern(pattern: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RegexLabeller(pattern)


def test_col_reader_prefix_suffix_and_delimiter() -> None:
    row = {"name": "a", "tags": "x y", "n": 3}
    assert ColReader("name", pref="img/", suff=".jpg")(row) == "img/a.jpg"
    assert ColReader("name", pref=Path("img"), suff=".jpg")(row) == Path("img/a.jpg")
    assert ColReader("tags", label_delim=" ")(row) == ["x", "y"]
    assert ColReader(["name", "n"])(row) == ("a", 3)
    assert ColReader("name").config() == {
        "cols": "name", "pref": "", "suff": "", "label_delim": None
    }  # fmt: skip


def test_col_reader_works_on_pandas_rows_and_names_missing_columns() -> None:
    import pandas as pd

    df = pd.DataFrame({"fname": ["a.jpg"], "label": [1]})
    row = df.iloc[0]
    assert ColReader("label")(row) == 1
    assert type(ColReader("label")(row)) is int
    with pytest.raises(ValueError, match=r"column 'lbl' not found; available columns: \['fname'"):
        ColReader("lbl")(row)
    with pytest.raises(ValueError, match="column 'lbl' not found"):
        ColReader("lbl").check_columns(df.columns)


def test_col_reader_validates_arguments() -> None:
    with pytest.raises(ValueError, match="at least one column"):
        ColReader([])
    with pytest.raises(ValueError, match="label_delim"):
        ColReader("a", label_delim="")
