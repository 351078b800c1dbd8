"""tokenize_texts: parallel equals serial, and the disk cache is read back and keyed right."""

from __future__ import annotations

from pathlib import Path

import pytest

from lamina.text import tokenize as tokenize_module
from lamina.text.tokenize import cached_tokens_path, tokenize_texts, tokenizer_from_config
from lamina.text.words import WordTokenizer

BOTCHAN = Path(__file__).parent / "data" / "botchan_excerpt.txt"


@pytest.fixture
def lines() -> list[str]:
    return [line for line in BOTCHAN.read_text().splitlines() if line.strip()]


class CountingTokenizer(WordTokenizer):
    """A word tokenizer that counts the texts it tokenizes."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.calls = 0

    def __call__(self, texts):
        self.calls += len(texts)
        return super().__call__(texts)


def test_second_call_reads_the_cache(tmp_path: Path, lines: list[str]) -> None:
    tokenizer = CountingTokenizer()
    first = tokenize_texts(lines, tokenizer, n_workers=0, cache_folder=tmp_path)
    assert tokenizer.calls == len(lines)
    assert cached_tokens_path(lines, tokenizer, str(tmp_path)).is_file()
    second = tokenize_texts(lines, tokenizer, n_workers=0, cache_folder=tmp_path)
    assert tokenizer.calls == len(lines)  # no tokenization the second time
    assert second == first == WordTokenizer()(lines)


def test_cache_key_changes_with_settings_and_texts(tmp_path: Path, lines: list[str]) -> None:
    paths = {
        cached_tokens_path(lines, WordTokenizer(), str(tmp_path)),
        cached_tokens_path(lines, WordTokenizer(min_repeat=4), str(tmp_path)),
        cached_tokens_path(lines, WordTokenizer(add_eos=True), str(tmp_path)),
        cached_tokens_path(lines[:-1], WordTokenizer(), str(tmp_path)),
        cached_tokens_path([lines[0] + lines[1], *lines[2:]], WordTokenizer(), str(tmp_path)),
    }
    assert len(paths) == 5
    tokenizer = CountingTokenizer(add_eos=True)
    tokenize_texts(lines, WordTokenizer(), n_workers=0, cache_folder=tmp_path)
    result = tokenize_texts(lines, tokenizer, n_workers=0, cache_folder=tmp_path)
    assert tokenizer.calls == len(lines)  # other settings: tokenized again, not read
    assert result[0][-1] == "xxeos"


def test_damaged_cache_file_is_rewritten(tmp_path: Path, lines: list[str]) -> None:
    expected = tokenize_texts(lines, n_workers=0, cache_folder=tmp_path)
    cached_tokens_path(lines, cache_folder=str(tmp_path)).write_bytes(b"not a tokens file")
    assert tokenize_texts(lines, n_workers=0, cache_folder=tmp_path) == expected
    assert tokenize_texts(lines, n_workers=0, cache_folder=tmp_path) == expected


def test_cache_off_writes_nothing(tmp_path: Path, lines: list[str]) -> None:
    tokenize_texts(lines, n_workers=0, cache=False, cache_folder=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_default_cache_folder_is_lamina_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAMINA_HOME", str(tmp_path))
    assert tokenize_texts(["", "A b"], n_workers=0) == [["xxbos"], ["xxbos", "xxmaj", "a", "b"]]
    assert tokenize_texts(["", "A b"], n_workers=0) == [["xxbos"], ["xxbos", "xxmaj", "a", "b"]]
    assert len(list((tmp_path / "tokens").glob("*.safetensors"))) == 1


def test_parallel_equals_serial(monkeypatch: pytest.MonkeyPatch, lines: list[str]) -> None:
    monkeypatch.setattr(tokenize_module, "MIN_PARALLEL_CHARS", 0)
    texts = ["", *lines, "  ", "Last ONE"]
    serial = tokenize_texts(texts, n_workers=0, cache=False)
    assert serial[0] == serial[-2] == ["xxbos"]
    assert tokenize_texts(texts, n_workers=2, cache=False) == serial
    plain = tokenize_texts(texts, WordTokenizer(add_bos=False), n_workers=2, cache=False)
    assert plain[0] == plain[-2] == []


def test_small_inputs_stay_in_process(lines: list[str]) -> None:
    tokenizer = CountingTokenizer()
    tokenize_texts(lines, tokenizer, n_workers=2, cache=False)
    assert tokenizer.calls == len(lines)  # under MIN_PARALLEL_CHARS: this process did the work


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match=r"texts\[2\] must be a str, got NoneType"):
        tokenize_texts(["a", "b", None], cache_folder=tmp_path)
    with pytest.raises(ValueError, match="n_workers must be None or an int >= 0, got -1"):
        tokenize_texts(["a"], n_workers=-1, cache_folder=tmp_path)
    with pytest.raises(ValueError, match="unknown tokenizer 'nope'"):
        tokenizer_from_config({"name": "nope"})
