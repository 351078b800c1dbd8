"""fastai-format AWD-LSTM weights: served locally, downloaded, read safely, vocabulary matched."""

from __future__ import annotations

import http.server
import io
import os
import pickle
import tarfile
import threading
from functools import partial
from pathlib import Path

import pytest
import torch

from lamina.data.download import UnverifiedDownloadWarning
from lamina.models import awd_lstm_clas, awd_lstm_lm
from lamina.text.pretrained import (
    BASE_URL_ENV,
    WT103_FWD_URL,
    convert_fastai_awd_lstm,
    load_pretrained,
    match_embeddings,
    read_state_dict,
    read_vocab,
    text_weights_spec,
)

SIZES = {"emb_sz": 8, "n_hid": 12, "n_layers": 2}
OLD_VOCAB = ["xxunk", "xxpad", "the", "cat", "sat", "on"]
NEW_VOCAB = ["xxunk", "xxpad", "cat", "dog", "the"]  # "dog" is unseen; "the" moved
FROM_OLD = {0: 0, 1: 1, 2: 3, 4: 2}  # new row -> old row


def fastai_state_dict() -> dict[str, torch.Tensor]:
    """What fastai saves for an AWD-LSTM language model of SIZES (names written out by hand)."""
    torch.manual_seed(1)
    embedding = torch.randn(len(OLD_VOCAB), 8)
    state = {"0.encoder.weight": embedding, "0.encoder_dp.emb.weight": embedding.clone()}
    for layer, (n_in, n_out) in enumerate([(8, 12), (12, 8)]):
        prefix = f"0.rnns.{layer}."
        state[prefix + "weight_hh_l0_raw"] = torch.randn(4 * n_out, n_out)
        state[prefix + "module.weight_ih_l0"] = torch.randn(4 * n_out, n_in)
        state[prefix + "module.weight_hh_l0"] = torch.randn(4 * n_out, n_out)  # stale copy
        state[prefix + "module.bias_ih_l0"] = torch.randn(4 * n_out)
        state[prefix + "module.bias_hh_l0"] = torch.randn(4 * n_out)
    state["1.decoder.weight"] = embedding.clone()
    state["1.decoder.bias"] = torch.randn(len(OLD_VOCAB))
    return state


def add_file(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


@pytest.fixture
def published(tmp_path: Path) -> dict:
    """wt103-fwd.tgz (a folder holding lstm_fwd.pth and itos_wt103.pkl) in a served folder."""
    state = fastai_state_dict()
    weights = io.BytesIO()
    torch.save(state, weights)
    served = tmp_path / "served"
    served.mkdir()
    with tarfile.open(served / "wt103-fwd.tgz", "w:gz") as tar:
        add_file(tar, "wt103-fwd/lstm_fwd.pth", weights.getvalue())
        add_file(tar, "wt103-fwd/itos_wt103.pkl", pickle.dumps(OLD_VOCAB))
    return {"state": state, "root": served}


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.server.hits.append(self.path)
        super().do_GET()


@pytest.fixture
def server(published: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    handler = partial(QuietHandler, directory=published["root"])
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.hits = []
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    monkeypatch.setenv(BASE_URL_ENV, f"http://127.0.0.1:{httpd.server_address[1]}/")
    monkeypatch.setenv("LAMINA_HOME", str(tmp_path / "home"))
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def test_the_registered_spec_is_fastais_archive(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = text_weights_spec("awd_lstm")
    assert spec.url == WT103_FWD_URL == "https://s3.amazonaws.com/fast-ai-modelzoo/wt103-fwd.tgz"
    monkeypatch.setenv(BASE_URL_ENV, "http://mirror.example/w/")
    assert spec.resolved_url() == "http://mirror.example/w/wt103-fwd.tgz"
    with pytest.raises(ValueError, match="resnet18"):
        text_weights_spec("resnet18")  # vision weights are not text weights


def test_downloaded_weights_load_with_a_new_vocabulary(server, published: dict) -> None:
    old = published["state"]
    model = awd_lstm_lm(len(NEW_VOCAB), **SIZES)
    with pytest.warns(UnverifiedDownloadWarning):  # no checksum is published for the archive
        load_pretrained(model, NEW_VOCAB)
    assert server.hits == ["/wt103-fwd.tgz"]
    embedding, bias = model.encoder.embedding.weight, model.decoder.bias
    for new_row, old_row in FROM_OLD.items():
        assert torch.equal(embedding[new_row], old["0.encoder.weight"][old_row])
        assert torch.equal(bias[new_row], old["1.decoder.bias"][old_row])
    assert torch.allclose(embedding[3], old["0.encoder.weight"].mean(0))
    assert torch.allclose(bias[3], old["1.decoder.bias"].mean())
    assert model.decoder.weight is embedding  # still tied
    rnn = model.encoder.rnns[1]
    assert torch.equal(rnn.weight_hh_l0_raw, old["0.rnns.1.weight_hh_l0_raw"])  # not the stale
    assert torch.equal(rnn.module.weight_ih_l0, old["0.rnns.1.module.weight_ih_l0"])
    load_pretrained(awd_lstm_lm(len(NEW_VOCAB), **SIZES), NEW_VOCAB)
    assert len(server.hits) == 1  # the unpacked archive is reused


def test_a_classifier_gets_the_encoder_from_local_files(tmp_path: Path, published: dict) -> None:
    folder = tmp_path / "local"
    folder.mkdir()
    torch.save(published["state"], folder / "lm.pth")
    (folder / "itos.pkl").write_bytes(pickle.dumps(OLD_VOCAB))
    model = awd_lstm_clas(len(NEW_VOCAB), 2, **SIZES)
    head = {k: v.clone() for k, v in model.head.state_dict().items()}
    load_pretrained(model, NEW_VOCAB, (folder / "lm.pth", folder / "itos.pkl"))
    old_embedding = published["state"]["0.encoder.weight"]
    assert torch.equal(model.encoder.embedding.weight[2], old_embedding[3])
    assert all(torch.equal(v, head[k]) for k, v in model.head.state_dict().items())


@pytest.mark.filterwarnings("ignore::lamina.data.download.UnverifiedDownloadWarning")
def test_wrong_sizes_are_explained(server) -> None:
    with pytest.raises(ValueError, match="pretrained sizes"):
        load_pretrained(awd_lstm_lm(len(NEW_VOCAB), emb_sz=8, n_hid=10, n_layers=2), NEW_VOCAB)
    with pytest.raises(ValueError, match="vocab_sz"):
        load_pretrained(awd_lstm_lm(9, **SIZES), NEW_VOCAB)


def test_match_embeddings_leaves_its_input_alone() -> None:
    state = convert_fastai_awd_lstm(fastai_state_dict())
    before = state["encoder.embedding.weight"].clone()
    matched = match_embeddings(state, OLD_VOCAB, NEW_VOCAB)
    assert matched["decoder.weight"].shape == (len(NEW_VOCAB), 8)
    assert torch.equal(state["encoder.embedding.weight"], before)
    with pytest.raises(ValueError, match="rows"):
        match_embeddings(state, OLD_VOCAB[:-1], NEW_VOCAB)


def test_unknown_parameter_names_are_refused() -> None:
    with pytest.raises(ValueError, match="1.layers.0.weight"):
        convert_fastai_awd_lstm({"1.layers.0.weight": torch.zeros(1)})


class Hostile:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return os.system, (f"touch {self.marker}",)


def test_a_hostile_vocabulary_is_refused_without_running(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    path = tmp_path / "itos.pkl"
    path.write_bytes(pickle.dumps([Hostile(marker)]))
    with pytest.raises(ValueError, match="itos.pkl") as error:
        read_vocab(path)
    assert "system" in str(error.value)
    assert not marker.exists()
    path.write_bytes(pickle.dumps({"the": 0}))
    with pytest.raises(ValueError, match="list of strings"):
        read_vocab(path)


def test_hostile_weights_are_refused_without_running(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    path = tmp_path / "lstm.pth"
    torch.save({"0.encoder.weight": torch.zeros(2), "x": Hostile(marker)}, path)
    with pytest.raises(pickle.UnpicklingError):
        read_state_dict(path)
    assert not marker.exists()
