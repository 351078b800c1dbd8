"""What an exported text model takes: token ids, and a stateful model started fresh."""

from __future__ import annotations

import pandas as pd
import torch

from lamina.text import TextDataLoaders, language_model_learner, text_classifier_learner
from lamina.text.graph_inputs import graph_inputs


def _learner(arch: str, config: dict, is_lm: bool = True):  # noqa: ANN202
    text = [f"word{i % 7} word{i % 5} and word{i % 3}." for i in range(20)]
    frame = pd.DataFrame({"text": text, "label": ["a", "b"] * 10})
    torch.manual_seed(0)
    if is_lm:
        dls = TextDataLoaders.from_df(frame, is_lm=True, seed=0, bs=4, seq_len=8, device="cpu")
        return language_model_learner(dls, arch, config=config)
    dls = TextDataLoaders.from_df(frame, label_col="label", seed=0, bs=4, device="cpu")
    return text_classifier_learner(dls, arch, config=config)


def test_awd_lstm_example_avoids_padding_and_starts_fresh_each_call() -> None:
    learn = _learner("awd_lstm", {"emb_sz": 8, "n_hid": 16, "n_layers": 1})
    inputs = graph_inputs(learn)
    (tokens,) = inputs.example
    assert tokens.dtype == torch.int64
    assert tokens.shape == (2, 8)
    assert not (tokens == learn.model.encoder.pad_token).any()
    assert inputs.limitation is None
    module = inputs.module.eval()
    with torch.no_grad():
        first, again = module(tokens), module(tokens)  # no state carried between calls
    torch.testing.assert_close(first, again)
    assert learn.model.encoder.hidden is None


def test_the_file_is_also_checked_on_unequal_padded_documents() -> None:
    learn = _learner("awd_lstm", {"emb_sz": 8, "n_hid": 16, "n_layers": 1}, is_lm=False)
    inputs = graph_inputs(learn)
    ((padded,),) = inputs.checks
    assert padded.shape[0] != inputs.example[0].shape[0]  # another batch size and length
    assert padded.shape[1] != inputs.example[0].shape[1]
    lengths = (padded != learn.model.encoder.pad_token).sum(dim=1)
    assert lengths.tolist() == [11, 4, 0]  # a whole row, a short one, an empty one


def test_transformer_sequence_length_is_bounded_by_its_positions() -> None:
    learn = _learner("transformer", {"d_model": 8, "n_heads": 2, "n_layers": 1, "max_len": 6})
    inputs = graph_inputs(learn)
    assert inputs.dynamic[0][1].max == 6
    assert inputs.example[0].shape == (2, 6)
    assert inputs.checks[0][0].shape == (3, 6)  # both within max_len
    assert inputs.limitation is None
