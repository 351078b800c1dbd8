"""Built-in real text: a labelled set that works offline, and a corpus downloaded once.

- `load_conversations()`: the English conversations of the `chatterbot-corpus` package
  (BSD-3-Clause; 21 topic files such as science, sports, food, history), one row per
  conversation, labelled by its topic. Read in place from the installed package (the optional
  `text` extra installs it); nothing is copied.
- `tiny_shakespeare()`: 1.1 M characters of Shakespeare's plays (public domain), from the
  canonical file of Karpathy's char-rnn repository, downloaded once into lamina's cache and
  checked against its SHA-256.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import TYPE_CHECKING

from lamina.data.download import download_data

if TYPE_CHECKING:
    import pandas as pd

CORPUS_INSTALL = "pip install chatterbot-corpus==1.3.3 pyyaml"
TINY_SHAKESPEARE_URL = (
    "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
)
TINY_SHAKESPEARE_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"
URL_ENV = "LAMINA_TEXT_URL"  # a mirror (or a local server) replacing the URL's folder


def conversations_folder() -> Path:
    """The English topic files inside the installed chatterbot-corpus package (located, not
    imported)."""
    spec = importlib.util.find_spec("chatterbot_corpus")
    for location in list(spec.submodule_search_locations or []) if spec else []:
        folder = Path(location) / "data" / "english"
        if folder.is_dir():
            return folder
    raise FileNotFoundError(
        f"the built-in conversations are read from the chatterbot-corpus package, which is not "
        f"installed; install it with: {CORPUS_INSTALL} (or pip install 'lamina[text]')"
    )


def load_conversations() -> pd.DataFrame:
    """Real English conversations labelled by topic: columns `text` and `label`.

    Each conversation's lines are joined with a space; a topic with a single conversation is
    left out (it could not be in both splits).

    Example:
        >>> df = load_conversations()
        >>> dls = TextDataLoaders.from_df(df, text_col="text", label_col="label", seed=42)
    """
    import pandas as pd
    import yaml

    rows = []
    for path in sorted(conversations_folder().glob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        topic = path.stem
        for conversation in document.get("conversations") or []:
            lines = [str(line) for line in conversation if line is not None]
            if lines:
                rows.append({"text": " ".join(lines), "label": topic})
    frame = pd.DataFrame(rows, columns=["text", "label"])
    counts = frame["label"].value_counts()
    return frame[frame["label"].map(counts) > 1].reset_index(drop=True)


def tiny_shakespeare(dest: str | os.PathLike | None = None) -> Path:
    """The path of Tiny Shakespeare's `input.txt`, downloaded once and checked by SHA-256.

    `$LAMINA_TEXT_URL` replaces the URL's folder (a mirror, or a local server); to work
    offline, put the file where the error message says.
    """
    base = os.environ.get(URL_ENV)
    url = TINY_SHAKESPEARE_URL
    if base:
        url = f"{base.rstrip('/')}/{url.rsplit('/', 1)[-1]}"
    return download_data(url, sha256=TINY_SHAKESPEARE_SHA256, extract=False, dest=dest)
