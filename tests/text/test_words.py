"""The word tokenizer's rules, one at a time, and its handling of odd input."""

from __future__ import annotations

from pathlib import Path

import pytest

from lamina.text.rules import SPECIAL_TOKENS, fix_html, replace_repeats
from lamina.text.words import WordTokenizer

BOTCHAN = Path(__file__).parent / "data" / "botchan_excerpt.txt"


def tokens(text: str, **kwargs) -> list[str]:
    return WordTokenizer(**kwargs)([text])[0]


def test_special_tokens_order_puts_unk_and_pad_first() -> None:
    assert SPECIAL_TOKENS[:3] == ["xxunk", "xxpad", "xxbos"]
    assert len(set(SPECIAL_TOKENS)) == len(SPECIAL_TOKENS) == 9


def test_bos_starts_each_document_and_eos_is_optional() -> None:
    assert tokens("a b") == ["xxbos", "a", "b"]
    assert tokens("a b", add_bos=False, add_eos=True) == ["a", "b", "xxeos"]


def test_capitalised_words_get_xxmaj_and_capitals_get_xxup() -> None:
    assert tokens("Paris NASA I a") == [
        "xxbos",
        "xxmaj",
        "paris",
        "xxup",
        "nasa",
        "xxmaj",
        "i",
        "a",
    ]


def test_mixed_case_words_are_kept() -> None:
    assert tokens("iPhone McDonald") == ["xxbos", "iPhone", "McDonald"]


def test_non_ascii_capitals() -> None:
    assert tokens("Élan ÉTÉ") == ["xxbos", "xxmaj", "élan", "xxup", "été"]


def test_repeated_characters_become_xxrep_but_numbers_stay() -> None:
    assert tokens("sooo 1000 !!!!") == ["xxbos", "s", "xxrep", "3", "o", "1000", "xxrep", "4", "!"]
    assert tokens("sooo", min_repeat=4) == ["xxbos", "sooo"]


def test_repeated_words_become_xxwrep() -> None:
    assert tokens("no no no no yes yes") == ["xxbos", "xxwrep", "4", "no", "yes", "yes"]


def test_repeats_do_not_cross_documents() -> None:
    first, second = WordTokenizer()(["go go", "go end"])
    assert first == ["xxbos", "go", "go"]
    assert second == ["xxbos", "go", "end"]


def test_punctuation_is_split_but_clitics_and_decimals_stay_whole() -> None:
    assert tokens("Hi, it's 0.7 kg (don't).") == [
        "xxbos", "xxmaj", "hi", ",", "it", "'s", "0.7", "kg", "(", "do", "n't", ")", ".",
    ]  # fmt: skip


def test_slash_and_hash_stand_alone() -> None:
    assert tokens("a/b #tag") == ["xxbos", "a", "/", "b", "#", "tag"]


def test_html_and_wikitext_markup_are_fixed() -> None:
    assert fix_html("a<br />b &amp; c &lt;d&gt;") == "a\nb & c <d>"
    assert tokens("12 @-@ year 0 @.@ 7 <unk>") == ["xxbos", "12", "-", "year", "0.7", "xxunk"]


def test_whitespace_is_collapsed() -> None:
    assert tokens("  a \t\n\r\n b  ") == ["xxbos", "a", "b"]


def test_replace_repeats_leaves_text_without_runs_alone() -> None:
    assert replace_repeats("abba 111  ") == "abba 111  "


def test_empty_documents_give_only_bos() -> None:
    assert WordTokenizer()(["", "  ", "a"]) == [["xxbos"], ["xxbos"], ["xxbos", "a"]]
    assert WordTokenizer(add_bos=False)([""]) == [[]]
    assert WordTokenizer()([]) == []


def test_nul_characters_in_text_are_whitespace() -> None:
    assert WordTokenizer()(["a\x00b", "c"]) == [["xxbos", "a", "b"], ["xxbos", "c"]]


def test_batch_equals_one_document_at_a_time() -> None:
    lines = [line for line in BOTCHAN.read_text().splitlines() if line.strip()]
    tokenizer = WordTokenizer()
    assert tokenizer(lines) == [tokenizer([line])[0] for line in lines]


def test_non_str_item_is_named_by_index() -> None:
    with pytest.raises(TypeError, match=r"texts\[1\] must be a str, got int"):
        WordTokenizer()(["fine", 3])
    with pytest.raises(TypeError, match="single str"):
        WordTokenizer()("not a list")


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="min_repeat must be an int >= 2, got 1"):
        WordTokenizer(min_repeat=1)


def test_state_rebuilds_the_same_tokenizer() -> None:
    tokenizer = WordTokenizer(min_repeat=4, add_eos=True)
    again = WordTokenizer.from_config(tokenizer.config())
    assert again.config() == tokenizer.config()
    assert again(["Sooooo"]) == tokenizer(["Sooooo"])
