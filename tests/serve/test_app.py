"""The prediction server, live on 127.0.0.1: routes, answers that match the learner's, the
input rules (413, 415, 422) and batching of concurrent requests."""

from __future__ import annotations

import io
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lamina import load_learner
from tests.serve.helpers import multipart, request


def _png(size: int) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.zeros((size, size), dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_routes_and_a_prediction_equal_to_the_learners(serve_app, digits_export, digit_png):
    expected_label, expected_index, expected_probs = load_learner(digits_export).predict(digit_png)
    with serve_app(digits_export) as url:
        assert request(f"{url}/health") == (200, {"status": "ok"})
        status, info = request(f"{url}/info")
        assert status == 200
        assert info["application"] == "vision"
        assert info["classes"] == ["0", "1", "2", "3"]
        assert info["input_kind"] == "image"
        status, page = request(f"{url}/")
        assert status == 200
        assert "<script>" in page
        assert 'src="http' not in page
        status, answer = request(f"{url}/predict", *multipart("file", "d.png",
                                 digit_png.read_bytes(), "image/png"))  # fmt: skip
    assert status == 200
    assert answer["label"] == expected_label
    assert answer["index"] == int(expected_index)
    assert answer["probs"] == pytest.approx(expected_probs.tolist(), abs=1e-5)
    assert answer["top"][0] == [expected_label, pytest.approx(float(expected_probs.max()))]


def test_bad_inputs_get_4xx_with_a_message(serve_app, digits_export):
    with serve_app(digits_export, max_upload_bytes=4000, max_pixels=40 * 40) as url:
        cases = {
            413: [multipart("file", "big.png", bytes(5000), "image/png"),  # over the body limit
                  multipart("file", "wide.png", _png(64), "image/png")],  # over the pixel limit
            415: [(b"hello", "text/plain")],
            422: [multipart("file", "x.png", b"not an image at all", "image/png"),
                  multipart("other", "d.png", _png(8), "image/png"),
                  multipart("file", "empty.png", b"", "image/png")],
        }  # fmt: skip
        for expected, bodies in cases.items():
            for body, content_type in bodies:
                status, answer = request(f"{url}/predict", body, content_type)
                assert status == expected, answer
                assert isinstance(answer["error"], str)
                assert answer["error"]
        assert request(f"{url}/predict", _png(8), "image/png")[0] == 200  # a raw image body


def test_concurrent_requests_share_batches(serve_app, digits_export):
    images = sorted((digits_export.parent / "images").rglob("*.png"))[:16]
    expected = load_learner(digits_export).predict_batch(images)[0]
    from lamina.serve import create_app
    from tests.serve.helpers import live_server

    app = create_app(digits_export, max_batch_size=8, max_wait=0.05)
    with live_server(app) as url, ThreadPoolExecutor(16) as pool:
        bodies = [multipart("file", f.name, f.read_bytes(), "image/png") for f in images]
        answers = list(pool.map(lambda body: request(f"{url}/predict", *body), bodies))
    assert [answer["label"] for _, answer in answers] == expected
    sizes = app.state.service.batcher.batch_sizes
    assert sum(sizes) == 16
    assert max(sizes) > 1
    assert max(sizes) <= 8


@pytest.fixture(scope="module")
def penguins_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from lamina.tabular import TabularDataLoaders, load_penguins, tabular_learner

    dls = TabularDataLoaders.from_df(load_penguins(), y_names="species", seed=0)
    return tabular_learner(dls).export(tmp_path_factory.mktemp("tab") / "penguins.lamina")


def test_tabular_rows_as_json(serve_app, penguins_export):
    row = {"island": "Biscoe", "bill_length_mm": 47.5, "flipper_length_mm": 215}
    label, index, probs = load_learner(penguins_export).predict(row)
    with serve_app(penguins_export) as url:
        status, answer = request(f"{url}/predict", json.dumps(row).encode(), "application/json")
        assert (status, answer["label"], answer["index"]) == (200, label, int(index))
        assert answer["probs"] == pytest.approx(probs.tolist(), abs=1e-5)
        assert request(f"{url}/predict", b"[1, 2]", "application/json")[0] == 422
        assert request(f"{url}/predict", b"{oops", "application/json")[0] == 422
        status, info = request(f"{url}/info")
        assert info["input_kind"] == "row"
        assert "island" in info["columns"]["cat"]


def test_collab_pairs_and_unknown_users(serve_app, tmp_path):
    from lamina.collab import CollabDataLoaders, collab_learner

    rng = np.random.default_rng(0)
    ratings = pd.DataFrame({"user": rng.integers(0, 10, 200), "item": rng.integers(0, 8, 200),
                            "rating": rng.uniform(1, 5, 200)})  # fmt: skip
    dls = CollabDataLoaders.from_df(ratings, valid_pct=0.2, seed=0, bs=32)
    path = collab_learner(dls, n_factors=4, y_range=(0, 5.5)).export(tmp_path / "c.lamina")
    expected = float(load_learner(path).predict(3, 4)[0])
    with serve_app(path) as url:
        body = json.dumps({"user": "3", "item": 4}).encode()  # a form sends text
        status, answer = request(f"{url}/predict", body, "application/json")
        assert status == 200
        assert answer["label"] == pytest.approx(expected, abs=1e-5)
        status, answer = request(f"{url}/predict", b'{"user": 99, "item": 4}', "application/json")
        assert status == 422
        assert "unknown user" in answer["error"]
