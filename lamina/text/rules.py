"""The special tokens and the text-level rules the word tokenizer applies before splitting.

`SPECIAL_TOKENS` has fastai's order, so `xxunk` is id 0 and `xxpad` id 1 in every vocabulary:

- `xxunk`: a token not in the vocabulary.
- `xxpad`: padding, so batches of documents of different lengths stack.
- `xxbos`: beginning of a document (first token of every document by default).
- `xxeos`: end of a document (off by default).
- `xxfld`: start of a field when a document joins several text columns (`xxfld 1 ... xxfld 2 ...`).
- `xxrep`: `xxrep 4 !` stands for `!!!!` (a character repeated `min_repeat` times or more).
- `xxwrep`: `xxwrep 3 no` stands for `no no no` (a word repeated `min_repeat` times or more).
- `xxup`: the next token was written in capitals (`xxup nasa` is `NASA`).
- `xxmaj`: the next token was capitalised (`xxmaj paris` is `Paris`; `xxmaj i` is `I`).
"""

from __future__ import annotations

import html

UNK, PAD, BOS, EOS, FLD, REP, WREP, UP, MAJ = (
    "xxunk",
    "xxpad",
    "xxbos",
    "xxeos",
    "xxfld",
    "xxrep",
    "xxwrep",
    "xxup",
    "xxmaj",
)
SPECIAL_TOKENS: list[str] = [UNK, PAD, BOS, EOS, FLD, REP, WREP, UP, MAJ]

# Literal fixes, applied with str.replace (a C scan each): HTML line breaks and the escapes left in
# scraped reviews, and WikiText's `@-@` style separators and `<unk>`, as fastai's fix_html does.
_HTML_FIXES = (
    ("<br />", "\n"),
    ("<br/>", "\n"),
    ("<br>", "\n"),
    ("#39;", "'"),
    ("quot;", '"'),
    ("nbsp;", " "),
    ("#36;", "$"),
    ("#146;", "'"),
    ("\\n", "\n"),
    ('\\"', '"'),
)
_WIKITEXT_FIXES = ((" @-@ ", "-"), (" @.@ ", "."), (" @,@ ", ","), ("<unk>", f" {UNK} "))


def fix_html(text: str, unk: bool = True) -> str:
    """Undo HTML escapes and line breaks, and WikiText's `@-@`, `@.@`, `@,@` (and `<unk>`)."""
    if "<" in text or "#" in text or ";" in text or "\\" in text:
        for old, new in _HTML_FIXES:
            if old in text:
                text = text.replace(old, new)
    if "&" in text:
        text = html.unescape(text)
    if "@" in text or (unk and "<unk>" in text):
        for old, new in _WIKITEXT_FIXES if unk else _WIKITEXT_FIXES[:-1]:
            if old in text:
                text = text.replace(old, new)
    return text


def replace_repeats(text: str, min_repeat: int = 3) -> str:
    """Runs of `min_repeat` or more of one character become ` xxrep N c `.

    Digits and whitespace are left alone (`1000` stays a number). The runs are found with NumPy on
    the code points, so text without runs costs a few vectorised passes and no Python per character.
    """
    import numpy as np

    if len(text) < min_repeat:
        return text
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    same = codes[1:] == codes[:-1]  # same[i]: character i+1 equals character i
    run = same[: len(same) - min_repeat + 2].copy()
    for shift in range(1, min_repeat - 1):
        run &= same[shift : len(same) - min_repeat + 2 + shift]
    starts = np.flatnonzero(run)  # each i where characters i .. i+min_repeat-1 are equal
    if not len(starts):
        return text
    pieces, done = [], 0
    for start in starts.tolist():
        char = text[start]
        if start < done or char.isspace() or char.isdigit():
            continue
        end = start + min_repeat
        while end < len(text) and text[end] == char:
            end += 1
        pieces += [text[done:start], f" {REP} {end - start} {char} "]
        done = end
    return "".join(pieces) + text[done:]
