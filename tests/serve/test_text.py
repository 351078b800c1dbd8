"""Serving a text classifier: answers equal to `learn.predict`, the page's text box, `/info`,
and the text input rules (empty, wrong content type, not UTF-8, too large: 4xx)."""

from __future__ import annotations

import json

import pytest

from lamina import load_learner
from tests.serve.helpers import request

TEXTS = ["Return the value of the named attribute of the object.",
         "I had a quarrel with the headmaster about the school.",
         "The naïve café — 東京 — of the school."]  # fmt: skip


def test_text_answers_equal_the_learners(serve_app, text_export) -> None:
    learn = load_learner(text_export, device="cpu")
    with serve_app(text_export) as url:
        status, info = request(f"{url}/info")
        assert status == 200
        assert info["application"] == "text"
        assert info["input_kind"] == "text"
        assert info["classes"] == ["novel", "python"]
        assert info["architecture"] == "awd_lstm_clas"
        assert info["exported_inputs"].startswith("tokens: int64 (N, T)")
        status, page = request(f"{url}/")
        assert status == 200
        assert "function textInputs()" in page
        assert "textarea" in page
        assert "sendJson({text:" in page  # the text box posts {"text": ...}, as tested below
        for text in TEXTS:
            label, index, probs = learn.predict(text)
            as_json = request(f"{url}/predict", json.dumps({"text": text}).encode(),
                              "application/json")  # fmt: skip
            as_plain = request(f"{url}/predict", text.encode(), "text/plain; charset=utf-8")
            for status, answer in (as_json, as_plain):
                assert status == 200, answer
                assert answer["label"] == label
                assert answer["index"] == int(index)
                assert len(answer["probs"]) == 2
                assert answer["probs"] == pytest.approx(probs.tolist(), abs=1e-5)
                assert answer["top"][0] == [label, pytest.approx(float(probs.max()))]


def test_bad_text_requests_get_4xx_with_a_message(serve_app, text_export) -> None:
    cases = {
        413: [(b"word " * 100, "text/plain")],  # over the 300-byte limit
        415: [(b"hello", "image/png"), (b"hello", "application/x-www-form-urlencoded")],
        422: [(b"", "text/plain"), (b"  \n\t", "text/plain"), (b'{"text": ""}', "application/json"),
              ("café".encode("latin-1"), "text/plain"), (b"\xff\xfe\x00", "text/plain"),
              (b'{"words": "hello"}', "application/json"), (b'{"text": 3}', "application/json"),
              (b"{not json", "application/json")],
    }  # fmt: skip
    with serve_app(text_export, max_upload_bytes=300) as url:
        for expected, bodies in cases.items():
            for body, content_type in bodies:
                status, answer = request(f"{url}/predict", body, content_type)
                assert status == expected, (body, content_type, answer)
                assert isinstance(answer["error"], str), answer
                assert answer["error"], answer
        status, answer = request(f"{url}/predict", b"", "text/plain")
        assert "empty" in answer["error"]
        status, answer = request(f"{url}/predict", b"\xff", "text/plain")
        assert "UTF-8" in answer["error"]
        assert request(f"{url}/predict", b"hello there", "text/plain")[0] == 200
