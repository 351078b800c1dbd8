"""`detokenize`: tokens back to readable text, undoing the word tokenizer's rules.

`xxmaj word` -> `Word`, `xxup word` -> `WORD`, `xxrep 3 a` -> `aaa`, `xxwrep 3 no` -> `no no no`;
`xxbos`, `xxeos`, `xxpad` are dropped; punctuation is joined to the word before it (`,` `.` `)`
`'s` `n't` ...) or after it (`(` `$` ...). For text that the rules keep whole (single spaces, no
repeated characters, punctuation set as in ordinary prose) the round trip gives the text back;
otherwise the result is meant for reading, e.g. by `show_batch`.
"""

from __future__ import annotations

from collections.abc import Sequence

from lamina.text.rules import BOS, EOS, MAJ, PAD, REP, UP, WREP

_DROPPED = frozenset((BOS, EOS, PAD))
_NO_SPACE_BEFORE = frozenset(",.;:!?)]}%'\"/-") | {"'s", "'re", "'ve", "'ll", "'d", "'m", "n't"}
_NO_SPACE_AFTER = frozenset("([{$#/-\"'")


def _apply_case(tokens: Sequence[str]) -> list[str]:
    out: list[str] = []
    pending = None
    for token in tokens:
        if token in (MAJ, UP):
            pending = token
            continue
        if pending == MAJ:
            token = token[:1].upper() + token[1:]
        elif pending == UP:
            token = token.upper()
        pending = None
        out.append(token)
    return out


def _apply_repeats(tokens: list[str]) -> list[str]:
    out: list[str] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token in (REP, WREP) and index + 2 < len(tokens) and tokens[index + 1].isdigit():
            count, item = int(tokens[index + 1]), tokens[index + 2]
            out += [item * count] if token == REP else [item] * count
            index += 3
        else:
            out.append(token)
            index += 1
    return out


def detokenize(tokens: Sequence[str]) -> str:
    """Readable text from word tokens (see the module's docstring for what is undone)."""
    words = _apply_repeats(_apply_case([token for token in tokens if token not in _DROPPED]))
    pieces: list[str] = []
    glue = True  # no space before the first word
    quotes_open = False
    for word in words:
        if word == '"':
            quotes_open = not quotes_open
            space = not glue and quotes_open  # an opening quote follows a space, a closing one not
            glue = quotes_open
        else:
            # a run like "..." from `xxrep` joins as its character does
            joins = word in _NO_SPACE_BEFORE or (
                word[:1] in _NO_SPACE_BEFORE and len(set(word)) == 1
            )
            space = not glue and not joins
            glue = word in _NO_SPACE_AFTER and word != "'"
        pieces.append(" " + word if space else word)
    return "".join(pieces)
