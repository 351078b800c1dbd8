"""Tokens per second of lamina's word tokenizer on WikiText-2, against a one-regex tokenizer.

Data: `wikitext2_partial` (the validation and test splits, each non-empty line a document) from
../shared/datasets beside the project, or `$LAMINA_SHARED` (the `shared` folder or its `datasets`
folder), or /work/shared/datasets; skipped with a message when none is there.

- lamina: `WordTokenizer()` on all documents in this process (one core): fastai's rules
  (xxbos, xxmaj, xxup, xxrep, xxwrep, HTML/WikiText fixes), punctuation split. Goal: 1M tokens/s.
- plain: `re.findall(r"\\w+|[^\\w\\s]", doc)` for each document, no rules: the hand-written floor.

The two alternate, `--repeats` times; medians of CPU seconds of this process (steadier than wall
time on a shared machine) are reported, and their ratio. Then the wall time of
`tokenize_texts(..., n_workers=2)` (a process pool; fork start) and of reading its cache back.

Run: `python benchmarks/tokenize_speed.py [--repeats R]`.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lamina.text import tokenize as tokenize_module
from lamina.text.tokenize import tokenize_texts
from lamina.text.words import WordTokenizer

PLAIN = re.compile(r"\w+|[^\w\s]")


def find_wikitext() -> Path | None:
    """The wikitext2_partial folder, or None."""
    candidates = [Path(__file__).resolve().parents[2] / "shared" / "datasets"]
    if os.environ.get("LAMINA_SHARED"):
        shared = Path(os.environ["LAMINA_SHARED"])
        candidates = [shared, shared / "datasets", *candidates]
    candidates.append(Path("/work/shared/datasets"))
    for folder in candidates:
        if (folder / "wikitext2_partial" / "wiki.valid.tokens").is_file():
            return folder / "wikitext2_partial"
    return None


def plain_tokenize(texts: list[str]) -> list[list[str]]:
    return [PLAIN.findall(text) for text in texts]


def cpu_seconds(function, texts: list[str]) -> tuple[float, int]:
    start = time.process_time()
    documents = function(texts)
    return time.process_time() - start, sum(map(len, documents))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    folder = find_wikitext()
    if folder is None:
        print("skipped: wikitext2_partial not found (../shared/datasets, $LAMINA_SHARED)")
        return
    texts = []
    for name in ("wiki.valid.tokens", "wiki.test.tokens"):
        lines = (folder / name).read_text(encoding="utf-8").splitlines()
        texts += [line for line in lines if line.strip()]
    print(f"{len(texts):,} documents, {sum(map(len, texts)):,} characters from {folder}")

    tokenizer = WordTokenizer()
    times: dict[str, list[float]] = {"lamina": [], "plain": []}
    counts = {}
    for _ in range(args.repeats):  # interleaved, so drift on a shared machine hits both alike
        for name, function in (("lamina", tokenizer), ("plain", plain_tokenize)):
            seconds, counts[name] = cpu_seconds(function, texts)
            times[name].append(seconds)
    rates = {}
    for name in times:
        median = statistics.median(times[name])
        rates[name] = counts[name] / median
        print(
            f"{name:>7}: {counts[name]:,} tokens in {median * 1e3:.0f} ms CPU (median of "
            f"{args.repeats}; best {min(times[name]) * 1e3:.0f} ms): "
            f"{rates[name] / 1e6:.2f} M tokens/s"
        )
    print(f"lamina / plain tokens per second: {rates['lamina'] / rates['plain']:.2f}")
    goal = "met" if rates["lamina"] >= 1e6 else "NOT met"
    print(f"goal 1M tokens/s on one core: {goal}")

    tokenize_module.MIN_PARALLEL_CHARS = 0  # the pool even if the corpus were small
    with tempfile.TemporaryDirectory() as cache:
        start = time.perf_counter()
        parallel = tokenize_texts(texts, n_workers=2, cache=True, cache_folder=cache)
        pooled = time.perf_counter() - start
        start = time.perf_counter()
        again = tokenize_texts(texts, n_workers=2, cache=True, cache_folder=cache)
        read = time.perf_counter() - start
    assert again == parallel == tokenizer(texts), "the pool or the cache changed the tokens"
    print(
        f"2 workers, cache write included: {pooled * 1e3:.0f} ms wall "
        f"({counts['lamina'] / pooled / 1e6:.2f} M tokens/s); cache read: {read * 1e3:.0f} ms "
        f"({counts['lamina'] / read / 1e6:.2f} M tokens/s)"
    )
    print(f"load average now: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", file=sys.stderr)


if __name__ == "__main__":
    main()
