"""`lamina export` for every application: the written .pt2 and .onnx files run on a batch and
answer as the learner's model does (text models on padded batches of other sizes than the
example); what cannot be traced is a one-line error and no file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from lamina import load_learner
from lamina.cli.main import main

pytestmark = [
    # torch's exporter and loader warn about their own internals
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore:The given buffer is not writable:UserWarning"),
]


@pytest.fixture(scope="module")
def vision_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from lamina.vision import ImageDataLoaders, Resize, vision_learner
    from tests.serve.helpers import digit_subset

    root = tmp_path_factory.mktemp("vision")
    images = digit_subset(root / "images", classes="01", per_class=4)
    dls = ImageDataLoaders.from_folder(images, valid_pct=0.25, seed=0, item_tfms=Resize(16), bs=4)
    torch.manual_seed(0)
    return vision_learner(dls, "resnet18", pretrained=False).export(root / "v.lamina")


@pytest.fixture(scope="module")
def tabular_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from lamina.tabular import TabularDataLoaders, load_penguins, tabular_learner

    torch.manual_seed(0)
    dls = TabularDataLoaders.from_df(load_penguins(), y_names="species", seed=0, bs=32,
                                     device="cpu")  # fmt: skip
    learn = tabular_learner(dls, layers=[8])
    learn.progress.silent = True
    learn.fit(1, 1e-2)  # BatchNorm statistics away from their initial values
    return learn.export(tmp_path_factory.mktemp("tabular") / "t.lamina")


@pytest.fixture(scope="module")
def collab_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from lamina.collab import CollabDataLoaders, collab_learner

    rng = np.random.default_rng(0)
    ratings = pd.DataFrame({"user": rng.integers(0, 10, 200), "item": rng.integers(0, 8, 200),
                            "rating": rng.uniform(1, 5, 200)})  # fmt: skip
    dls = CollabDataLoaders.from_df(ratings, valid_pct=0.2, seed=0, bs=32)
    torch.manual_seed(0)
    learn = collab_learner(dls, n_factors=4, y_range=(0.5, 5.5))
    return learn.export(tmp_path_factory.mktemp("collab") / "c.lamina")


TEXT_CONFIGS = {
    "awd_lstm": {"emb_sz": 8, "n_hid": 16, "n_layers": 2},
    "transformer": {"d_model": 16, "n_heads": 2, "n_layers": 1, "max_len": 64},
}


def _text_learner(sentences: list[str], arch: str, is_lm: bool):  # noqa: ANN202
    from lamina.text import TextDataLoaders, language_model_learner, text_classifier_learner

    frame = pd.DataFrame({"text": sentences, "label": ["a", "b"] * (len(sentences) // 2)})
    torch.manual_seed(0)
    if is_lm:
        dls = TextDataLoaders.from_df(frame, is_lm=True, seed=0, bs=4, seq_len=16, min_freq=2,
                                      device="cpu")  # fmt: skip
        return language_model_learner(dls, arch, config=TEXT_CONFIGS[arch])
    dls = TextDataLoaders.from_df(frame, label_col="label", seed=0, bs=8, min_freq=2,
                                  device="cpu")  # fmt: skip
    return text_classifier_learner(dls, arch, config=TEXT_CONFIGS[arch])


def _novel_sentences() -> list[str]:
    text = (Path(__file__).parents[1] / "text" / "data" / "botchan_excerpt.txt").read_text(
        encoding="utf-8")  # fmt: skip
    return text.split(".")[:40]


@pytest.fixture(scope="module")
def text_lm_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    learn = _text_learner(
        _novel_sentences(), "transformer", is_lm=True
    )  # untrained: export is checked
    return learn.export(tmp_path_factory.mktemp("text") / "lm.lamina")


# the text models that need the padded-width reading or a free-length LSTM: (arch, is_lm)
TEXT_MODELS = {"awd_lstm_lm": ("awd_lstm", True), "awd_lstm_clas": ("awd_lstm", False),
               "transformer_clas": ("transformer", False)}  # fmt: skip


@pytest.fixture(scope="module")
def text_exports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("text_models")
    return {
        name: _text_learner(_novel_sentences(), arch, is_lm).export(root / f"{name}.lamina")
        for name, (arch, is_lm) in TEXT_MODELS.items()
    }


def _run_pt2(path: Path, names: list[str], batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
    return torch.export.load(str(path)).module()(*batch)


def _run_onnx(path: Path, names: list[str], batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == names
    feed = {name: x.numpy() for name, x in zip(names, batch, strict=True)}
    return torch.from_numpy(session.run(None, feed)[0])


FORMATS = {"torch": ("model.pt2", _run_pt2), "onnx": ("model.onnx", _run_onnx)}


def _onnx_shapes(path: Path) -> tuple[list, list]:
    """Each input's and output's shape as the ONNX file states it (names for free sizes)."""
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return [i.shape for i in session.get_inputs()], [o.shape for o in session.get_outputs()]


def _export(model: Path, fmt: str, tmp_path: Path, capsys) -> Path:
    if fmt == "onnx":
        pytest.importorskip("onnxscript")
    name, _ = FORMATS[fmt]
    assert main(["export", str(model), f"--{fmt}", str(tmp_path / name)]) == 0
    assert "wrote" in capsys.readouterr().out
    return tmp_path / name


@pytest.mark.slow  # tracing takes a few seconds
@pytest.mark.parametrize("fmt", list(FORMATS))
def test_a_loaded_vision_model_exports(vision_export, fmt, tmp_path, capsys) -> None:
    # a loaded learner has no data: the example batch comes from its inference pipeline
    path = _export(vision_export, fmt, tmp_path, capsys)
    learn = load_learner(vision_export, device="cpu")
    files = sorted((vision_export.parent / "images").rglob("*.png"))[:3]
    (x,) = learn.inference_pipeline().batch(files)
    got = FORMATS[fmt][1](path, ["input"], (x,))
    learn.model.eval()
    with torch.no_grad():
        torch.testing.assert_close(got, learn.model(x), atol=1e-4, rtol=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", list(FORMATS))
def test_tabular_file_answers_as_the_learner(tabular_export, fmt, tmp_path, capsys) -> None:
    from lamina.tabular import load_penguins

    path = _export(tabular_export, fmt, tmp_path, capsys)
    learn = load_learner(tabular_export, device="cpu")
    processor = learn.dls.processor
    rows = load_penguins().head(5)
    x_cat, x_cont = processor.encode_inputs(rows)
    got = FORMATS[fmt][1](path, ["x_cat", "x_cont"], (x_cat, x_cont))
    if fmt == "onnx":  # free sizes carry their names, not the tracer's symbols
        inputs, outputs = _onnx_shapes(path)
        assert [shape[0] for shape in inputs] == ["batch", "batch"]
        assert outputs == [["batch", 3]]
    expected = learn.predict_inputs(x_cat, x_cont, raw=True)
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)
    assert got.shape == (5, 3)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", list(FORMATS))
def test_collab_file_answers_as_the_learner(collab_export, fmt, tmp_path, capsys) -> None:
    path = _export(collab_export, fmt, tmp_path, capsys)
    learn = load_learner(collab_export, device="cpu")
    users, items = [1, 2, 3], [7, 0, 4]
    vocab = learn.dls.vocab
    x = torch.stack([vocab.encode("user", users), vocab.encode("item", items)], dim=1)
    got = FORMATS[fmt][1](path, ["x"], (x,))
    torch.testing.assert_close(got, learn.predict(users, items), atol=1e-4, rtol=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", list(FORMATS))
def test_text_lm_file_takes_any_batch_and_length(text_lm_export, fmt, tmp_path, capsys) -> None:
    path = _export(text_lm_export, fmt, tmp_path, capsys)
    learn = load_learner(text_lm_export, device="cpu")
    (tokens,) = learn.inference_pipeline().batch(["The school was", "He said nothing at all"])
    if fmt == "onnx":
        inputs, outputs = _onnx_shapes(path)
        assert inputs == [["batch", "seq"]]
        assert outputs[0][:2] == ["batch", "seq"]
    for batch in (tokens, tokens[:1, :3]):  # the batch size and the length both vary
        got = FORMATS[fmt][1](path, ["tokens"], (batch,))
        learn.model.eval()
        with torch.no_grad():
            expected = learn.model(batch)
        assert got.shape == (*batch.shape, len(learn.dls.vocab))
        torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)


@pytest.mark.slow  # tracing a recurrent model takes tens of seconds
@pytest.mark.parametrize("fmt", list(FORMATS))
@pytest.mark.parametrize("kind", list(TEXT_MODELS))
def test_text_files_answer_as_the_model_on_padded_batches_of_any_size(
    text_exports, kind, fmt, tmp_path, capsys, caplog
) -> None:
    from lamina.text.learner import reset_state

    path = _export(text_exports[kind], fmt, tmp_path, capsys)
    caplog.clear()
    learn = load_learner(text_exports[kind], device="cpu")
    texts = ["The school was", "He said nothing at all to me", "", "I went home"]
    (tokens,) = learn.inference_pipeline().batch(texts)  # padded on the right; one row empty
    pad = learn.model.encoder.pad_token
    wider = torch.cat([tokens, torch.full((len(texts), 5), pad)], dim=1)  # past the longest
    for batch in (tokens, wider, tokens[1:2, :3]):  # the batch size and the length both vary
        got = FORMATS[fmt][1](path, ["tokens"], (batch,))
        learn.model.eval()
        reset_state(learn.model)
        with torch.no_grad():
            expected = learn.model(batch)
        reset_state(learn.model)
        torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)
    assert got.shape[0] == 1
    # the .pt2 program keeps no stray size for torch.export.load to warn about
    assert "did not appear in the graph" not in caplog.text


def test_info_and_predict_read_a_text_classifier(text_exports, tmp_path, capsys) -> None:
    model = text_exports["awd_lstm_clas"]
    assert main(["info", str(model), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["exported_inputs"].startswith("tokens: int64 (N, T) token ids")
    texts = tmp_path / "texts.csv"
    pd.DataFrame({"text": ["The school was", "He said nothing at all to me"]}).to_csv(texts)
    assert main(["predict", str(model), str(texts), "--json"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [record["label"] in ("a", "b") for record in records] == [True, True]


def test_what_cannot_be_traced_is_a_one_line_error_and_no_file(
    collab_export, tmp_path, capsys, monkeypatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise RuntimeError("Could not guard on data-dependent expression u0 > 3\nmore detail")

    monkeypatch.setattr(torch.export, "export", refuse)
    assert main(["export", str(collab_export), "--torch", str(tmp_path / "c.pt2")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith("lamina: error: torch ")
    assert "Could not guard on data-dependent expression u0 > 3" in err
    assert list(tmp_path.iterdir()) == []


def test_info_and_help_say_what_the_file_takes(collab_export, capsys) -> None:
    assert main(["info", str(collab_export), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["exported_inputs"].startswith("x: int64 (N, 2) of (user index, item index)")
    with pytest.raises(SystemExit) as exit_info:
        main(["export", "--help"])
    assert exit_info.value.code == 0
    shown = capsys.readouterr().out
    starts = {"vision": "input: float32 (N, C, H, W)", "tabular": "x_cat: int64",
              "collab": "x: int64 (N, 2)", "text": "tokens: int64 (N, T)"}  # fmt: skip
    for app, start in starts.items():
        assert f"  {app}: {start}" in shown


def test_an_application_without_graph_inputs_is_named(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setattr("lamina.cli.info.export_info", lambda path: {"application": "model"})
    assert main(["export", str(tmp_path / "m.lamina"), "--torch", str(tmp_path / "m.pt2")]) == 1
    err = capsys.readouterr().err
    assert "is a 'model' model; lamina export converts vision, tabular, collab, text" in err
