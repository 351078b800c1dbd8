"""The built-in text: conversations shipped by a package, Tiny Shakespeare downloaded once."""

from __future__ import annotations

import http.server
import shutil
import threading
from pathlib import Path

import pytest

from lamina.text.builtin import (
    TINY_SHAKESPEARE_SHA256,
    URL_ENV,
    load_conversations,
    tiny_shakespeare,
)

SHARED = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "tiny_shakespeare"


def test_conversations_are_real_labelled_text() -> None:
    frame = load_conversations()
    assert list(frame.columns) == ["text", "label"]
    assert len(frame) > 1500
    assert {"science", "sports", "food", "history"} <= set(frame["label"])
    assert frame["label"].value_counts().min() > 1
    assert frame["text"].str.len().min() > 0


@pytest.mark.shared
@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/datasets/tiny_shakespeare is absent")
def test_tiny_shakespeare_downloads_once_and_is_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served = tmp_path / "served"
    served.mkdir()
    shutil.copy(SHARED / "input.txt", served / "input.txt")
    hits = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, directory=str(served), **kwargs)

        def log_message(self, *args) -> None:
            hits.append(self.path)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv(URL_ENV, f"http://127.0.0.1:{server.server_port}")
        path = tiny_shakespeare(dest=tmp_path / "cache")
        assert path.read_text().startswith("First Citizen:")
        assert tiny_shakespeare(dest=tmp_path / "cache") == path
        assert len([hit for hit in hits if "input.txt" in hit]) == 1  # the second call is cached
        (served / "input.txt").write_text("First Citizen: a truncated or altered copy")
        with pytest.raises(ValueError, match="SHA-256|sha256"):
            tiny_shakespeare(dest=tmp_path / "other")
    finally:
        server.shutdown()
        server.server_close()
    assert len(TINY_SHAKESPEARE_SHA256) == 64
