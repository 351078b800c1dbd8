"""The text application end to end on small real text: language model, classifier, ULMFiT."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

from lamina import accuracy, load_learner
from lamina.data import RandomSplitter
from lamina.text import (
    TextDataLoaders,
    language_model_learner,
    text_classifier_learner,
    token_vocab,
)

SMALL = {"emb_sz": 32, "n_hid": 64, "n_layers": 2}


def _lm(frame: pd.DataFrame, **kwargs):
    dls = TextDataLoaders.from_df(frame, text_col="text", is_lm=True, seed=0, bs=4, seq_len=16,
                                  min_freq=1, device="cpu")  # fmt: skip
    learn = language_model_learner(dls, "awd_lstm", config=SMALL, metrics=[accuracy, "perplexity"],
                                   **kwargs)  # fmt: skip
    learn.progress.silent = True
    return learn


def _classifier_dls(frame: pd.DataFrame, **kwargs) -> TextDataLoaders:
    return TextDataLoaders.from_df(frame, text_col="text", label_col="label", seed=0, bs=16,
                                   min_freq=1, device="cpu", **kwargs)  # fmt: skip


def test_a_language_model_learns_the_novel(labelled_sentences: pd.DataFrame) -> None:
    torch.manual_seed(0)
    learn = _lm(labelled_sentences)
    assert learn.dls.vocab == token_vocab(learn.dls)  # an LM's targets are its tokens
    before = learn.validate()[0]
    learn.fit_one_cycle(4, 1e-2)
    loss, acc, perplexity = learn.validate()
    assert loss < before - 0.5
    assert perplexity == pytest.approx(float(torch.tensor(loss).exp()), rel=0.02)
    text = learn.predict("The school", n_words=6, temperature=0.0)
    assert text.startswith("The school")
    assert len(text.split()) >= 6
    x, y = next(iter(learn.dls.train))
    assert torch.equal(x[:, 1:], y[:, :-1])  # targets are the stream shifted by one


def test_windows_vary_in_training_and_documents_reshuffle(labelled_sentences) -> None:
    dls = TextDataLoaders.from_df(labelled_sentences, is_lm=True, seed=0, bs=4, seq_len=16,
                                  min_freq=1, device="cpu")  # fmt: skip
    lengths = [x.shape[1] for x, _ in dls.train]
    assert len(set(lengths)) > 2
    assert [x.shape[1] for x, _ in dls.valid][:-1] == [16] * (len(dls.valid) - 1)
    first, second = (next(iter(dls.train))[0] for _ in range(2))
    assert not torch.equal(first[:, :5], second[:, :5])


def test_a_language_model_loader_says_exactly_how_many_windows_come(labelled_sentences) -> None:
    dls = TextDataLoaders.from_df(labelled_sentences, is_lm=True, seed=0, bs=4, seq_len=16,
                                  min_freq=1, device="cpu")  # fmt: skip
    counts = []
    for _ in range(4):
        announced = len(dls.train)  # what the progress bar shows as the total
        counts.append(announced)
        assert sum(1 for _ in dls.train) == announced
    assert len(set(counts)) > 1  # the random window lengths change the count between epochs


def test_a_classifier_separates_prose_from_documentation(labelled_sentences) -> None:
    torch.manual_seed(0)
    dls = _classifier_dls(labelled_sentences)
    assert dls.target_vocab == ["novel", "python"]
    xb, yb = dls.one_batch()
    assert xb.dtype == torch.int64
    assert (xb == 1).any()
    learn = text_classifier_learner(dls, "awd_lstm", config=SMALL, metrics=accuracy)
    learn.progress.silent = True
    learn.unfreeze()
    learn.fit_one_cycle(6, 1e-2)
    assert learn.validate()[1] >= 0.85
    _, valid_rows = RandomSplitter(0.2, seed=0)(range(len(labelled_sentences)))
    texts = labelled_sentences.loc[valid_rows, "text"].tolist()
    preds, targs = learn.get_preds()
    by_text = {text: int(pred.argmax()) for text, pred in zip(texts, preds, strict=True)}
    text = texts[0]
    label, index, probs = learn.predict(text)
    assert int(index) == by_text[text]
    assert label == dls.vocab[1][int(index)]
    assert probs.shape == (2,)


def test_a_classifiers_vocab_is_tokens_then_labels_as_in_fastai(labelled_sentences) -> None:
    dls = _classifier_dls(labelled_sentences)
    tokens, labels = dls.vocab  # a ported `dls.vocab[1]` means the labels here too
    assert tokens == token_vocab(dls) == dls.text_vocab
    assert labels == dls.target_vocab == ["novel", "python"]
    with pytest.raises(ValueError, match=r"dls.vocab\[0\]"):
        _classifier_dls(labelled_sentences, text_vocab=dls.vocab)


def test_batches_group_similar_lengths(labelled_sentences) -> None:
    dls = _classifier_dls(labelled_sentences)
    padding = sum(int((xb == 1).sum()) for xb, _ in dls.train)
    lengths = torch.tensor(dls.train.lengths)[torch.randperm(len(dls.train.lengths))]
    unsorted = sum(int((chunk.max() - chunk).sum()) for chunk in lengths.split(16))
    assert padding < 0.5 * unsorted
    order = [int(i) for batch in dls.valid.batch_indices() for i in batch]
    assert order == list(range(len(dls.datasets.valid)))  # get_preds lines up with the items


def _trainable_groups(learn) -> int:
    return sum(any(p.requires_grad for p in group) for group in learn.splitter(learn.model))


def test_pretrained_learners_start_frozen_as_in_fastai(labelled_sentences, monkeypatch) -> None:
    # the download itself is tested in test_pretrained; here, what the factories do after it
    monkeypatch.setattr("lamina.text.learner._load_pretrained", lambda learn, arch: None)
    lm = _lm(labelled_sentences, pretrained=True)
    assert _trainable_groups(lm) == 1  # the embedding and decoder: new words first
    dls = _classifier_dls(labelled_sentences)
    clas = text_classifier_learner(dls, "awd_lstm", config=SMALL, pretrained=True)
    assert _trainable_groups(clas) == 1


def test_ulmfit_encoder_moves_from_the_language_model_to_the_classifier(
    labelled_sentences, tmp_path: Path
) -> None:
    torch.manual_seed(0)
    lm = _lm(labelled_sentences, path=tmp_path)
    lm.fit_one_cycle(1, 1e-2)
    lm.save_encoder("encoder")
    dls = _classifier_dls(labelled_sentences, text_vocab=lm.dls.vocab)
    clas = text_classifier_learner(dls, "awd_lstm", config=SMALL, path=tmp_path)
    assert _trainable_groups(clas) == len(clas.splitter(clas.model))  # no encoder: all train
    clas.load_encoder("encoder")
    assert _trainable_groups(clas) == 1  # a loaded encoder is frozen, the head trains first
    encoder = lm.model.encoder.state_dict()
    for name, value in clas.model.encoder.state_dict().items():
        assert torch.equal(value, encoder[name])
    other = text_classifier_learner(_classifier_dls(labelled_sentences), "awd_lstm",
                                    config=SMALL, path=tmp_path)  # fmt: skip
    if token_vocab(other.dls) != lm.dls.vocab:
        with pytest.raises(ValueError, match="text_vocab"):
            other.load_encoder("encoder")


def test_the_ulmfit_route_learns(labelled_sentences, tmp_path: Path) -> None:
    """Language model, its encoder into the classifier, `fine_tune` at the default rates.

    On this tiny corpus the language model stays weak (its encoder's features are nearly the
    same for every sentence), the hard case for the recipe: before the text learners had
    ULMFiT's momentum and AR/TAR this sat at chance (0.46).
    """
    torch.manual_seed(0)
    lm = _lm(labelled_sentences, path=tmp_path)
    lm.fit_one_cycle(4, 1e-2)
    lm.save_encoder("encoder")
    dls = _classifier_dls(labelled_sentences, text_vocab=lm.dls.vocab)
    clas = text_classifier_learner(dls, "awd_lstm", config=SMALL, path=tmp_path, metrics=accuracy)
    clas.progress.silent = True
    clas.load_encoder("encoder")
    clas.fine_tune(4)
    assert clas.validate()[1] >= 0.75


@pytest.mark.parametrize("gradual", [False, True])
def test_fine_tune_trains_the_head_then_everything(labelled_sentences, gradual: bool) -> None:
    """By default the head alone, then every group; `gradual=True` adds ULMFiT's stages of one
    more group at a time. Each stage's rates: the head's `base_lr`, then `/ 2`, `/ 4`, and
    `/ 10` for the last, the bottom group `lr_mult` times slower than the top."""
    dls = _classifier_dls(labelled_sentences)
    learn = text_classifier_learner(dls, "awd_lstm", config=SMALL)
    learn.progress.silent = True
    seen, rates = [], []
    original = learn.fit_one_cycle

    def record(n_epoch, lr_max=None, **kwargs):
        groups = learn.splitter(learn.model)
        seen.append(sum(any(p.requires_grad for p in group) for group in groups))
        rates.append((lr_max.start or 0.0, lr_max.stop))
        return original(n_epoch, lr_max, **kwargs)

    learn.fit_one_cycle = record  # type: ignore[method-assign]
    learn.fine_tune(1, base_lr=1e-2, lr_mult=4.0, gradual=gradual)
    n_groups = len(learn.splitter(learn.model))
    if gradual:
        assert seen == [1, 2, 3, n_groups]
        expected = [(0.0, 1e-2), (5e-3 / 4, 5e-3), (2.5e-3 / 4, 2.5e-3), (1e-3 / 4, 1e-3)]
    else:
        assert seen == [1, n_groups]
        expected = [(0.0, 1e-2), (1e-3 / 4, 1e-3)]
    assert rates == [pytest.approx(pair) for pair in expected]


def test_export_round_trip_in_a_fresh_process(labelled_sentences, tmp_path: Path) -> None:
    torch.manual_seed(0)
    learn = text_classifier_learner(_classifier_dls(labelled_sentences), "awd_lstm", config=SMALL)
    learn.progress.silent = True
    learn.unfreeze()
    learn.fit_one_cycle(1, 1e-2)
    path = learn.export(tmp_path / "clas.lamina")
    text = "Return the value of the named attribute of the object."
    _, _, expected = learn.predict(text)
    script = (
        "import json, sys; from lamina import load_learner; "
        f"learn = load_learner({str(path)!r}, device='cpu'); "
        f"label, index, probs = learn.predict({text!r}); "
        "print(json.dumps([label, int(index), probs.tolist()]))"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).parents[2])  # fmt: skip
    label, index, probs = json.loads(out.stdout.strip().splitlines()[-1])
    assert label == learn.dls.vocab[1][index]
    torch.testing.assert_close(torch.tensor(probs), expected, atol=1e-5, rtol=1e-4)
    loaded = load_learner(path, device="cpu")
    assert loaded.predict(text)[0] == label
    assert loaded.dls.vocab == learn.dls.vocab  # [tokens, labels], as before the export


def test_show_batch_draws_decoded_text(labelled_sentences) -> None:
    from matplotlib.figure import Figure

    fig = _classifier_dls(labelled_sentences).show_batch(max_n=2)
    assert isinstance(fig, Figure)
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert any(len(text.split()) > 3 for text in texts)
    lm_fig = TextDataLoaders.from_df(labelled_sentences, is_lm=True, bs=4, seq_len=16,
                                     min_freq=1, device="cpu").show_batch(max_n=2)  # fmt: skip
    assert isinstance(lm_fig, Figure)


# ----------------------------------------------------------------------------- bad input
def test_a_csv_without_the_text_column_names_it(tmp_path: Path) -> None:
    (tmp_path / "reviews.csv").write_text("review,label\ngood film,pos\n")
    with pytest.raises(ValueError, match="text"):
        TextDataLoaders.from_csv(tmp_path / "reviews.csv", text_col="text", label_col="label")


def test_a_file_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    for split, label in (("train", "pos"), ("train", "neg"), ("valid", "pos")):
        folder = tmp_path / split / label
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "a.txt").write_text("a good film it was, a good film indeed")
    (tmp_path / "train" / "neg" / "bad.txt").write_bytes(b"caf\xe9 au lait")
    with pytest.raises(ValueError, match="bad.txt is not UTF-8"):
        TextDataLoaders.from_folder(tmp_path, device="cpu", min_freq=1)


def test_a_vocabulary_of_special_tokens_only_is_refused(labelled_sentences) -> None:
    with pytest.raises(ValueError, match="min_freq"):
        TextDataLoaders.from_df(labelled_sentences.iloc[:10], min_freq=1000, device="cpu")


def test_empty_documents_are_kept_and_unknown_words_warn(labelled_sentences) -> None:
    frame = labelled_sentences.copy()
    frame.loc[0, "text"] = ""
    frame.loc[1, "text"] = None
    dls = _classifier_dls(frame)
    assert len(dls.datasets.train) + len(dls.datasets.valid) == len(frame)
    learn = text_classifier_learner(dls, "awd_lstm", config=SMALL)
    with pytest.warns(UserWarning, match="unknown"):
        learn.predict("zxqv vbrk jwpl")


def test_a_subword_model_travels_inside_the_export(labelled_sentences, tmp_path: Path) -> None:
    pytest.importorskip("sentencepiece")
    torch.manual_seed(0)
    dls = _classifier_dls(labelled_sentences, tokenizer="subword", subword_vocab_size=300)
    assert any(token.startswith("▁") for token in token_vocab(dls))  # pieces, not words
    learn = text_classifier_learner(dls, "awd_lstm", config=SMALL)
    path = learn.export(tmp_path / "subword.lamina")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["subword.lamina"]  # no side files
    loaded = load_learner(path, device="cpu")
    text = labelled_sentences["text"].iloc[0]
    torch.testing.assert_close(loaded.predict(text)[2], learn.predict(text)[2])


def test_the_datablock_route_and_a_document_longer_than_any_batch(labelled_sentences) -> None:
    from lamina.data import ColReader, DataBlock, IndexSplitter
    from lamina.text import TextBlock

    long_text = " ".join(labelled_sentences["text"].tolist()[:40])  # longer than bs * seq_len
    frame = pd.DataFrame({"text": [long_text, *labelled_sentences["text"].tolist()[40:45]]})
    dblock = DataBlock(blocks=(TextBlock(is_lm=True, min_freq=1, seq_len=8),),
                       get_x=ColReader("text"), splitter=IndexSplitter([5]), n_inp=1)  # fmt: skip
    dls = dblock.dataloaders(frame, bs=4, device="cpu", seed=0)
    in_documents = sum(len(sample[0]) for sample in dls.datasets.train.samples)
    assert len(dls.datasets.train.samples[0][0]) > 4 * 8  # longer than a whole batch
    n_tokens = sum(x.numel() for x, _ in dls.train)
    assert n_tokens >= in_documents - 4 * 2  # every token is read (rows lose one each, at most)
    assert dls.loss_name == "cross_entropy_flat"
