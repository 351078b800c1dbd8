"""AWD-LSTM: shapes, the regularizers, carried state, padding-blind pooling, and learning."""

from __future__ import annotations

import copy
import json

import pytest
import torch
from torch import nn

from lamina.models import (
    DropoutEmbedding,
    LockedDropout,
    awd_lstm_clas,
    awd_lstm_clas_split,
    awd_lstm_lm,
    awd_lstm_lm_split,
    build_model,
    masked_concat_pool,
    move_padding_right,
)

SMALL = {"emb_sz": 8, "n_hid": 12, "n_layers": 2}
NO_DROPOUT = {"output_p": 0, "hidden_p": 0, "input_p": 0, "embed_p": 0, "weight_p": 0}


def test_built_by_name_from_json_kwargs() -> None:
    kwargs = json.loads(json.dumps({"vocab_sz": 30, **SMALL}))
    lm = build_model("awd_lstm_lm", **kwargs)
    assert lm(torch.randint(0, 30, (3, 7))).shape == (3, 7, 30)
    clas = build_model("awd_lstm_clas", n_classes=4, lin_ftrs=[6], ps=[0.2], **kwargs)
    assert clas(torch.randint(2, 30, (3, 11))).shape == (3, 4)
    sizes = [(rnn.module.input_size, rnn.module.hidden_size) for rnn in lm.encoder.rnns]
    assert sizes == [(8, 12), (12, 8)]  # the last layer returns to emb_sz, for tying


def test_drop_mult_scales_fastai_defaults() -> None:
    model = awd_lstm_lm(30, drop_mult=0.5, hidden_p=0.4, **SMALL)
    assert model.output_dropout.p == pytest.approx(0.05)
    assert model.encoder.hidden_dropouts[0].p == pytest.approx(0.2)
    assert model.encoder.rnns[0].weight_p == pytest.approx(0.1)
    assert model.encoder.embedding.embed_p == pytest.approx(0.01)


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [({"emb_sz": 0}, "emb_sz"), ({"weight_p": 1.5}, "weight_p"), ({"pad_token": 30}, "pad_token"),
     ({"drop_mult": -1}, "drop_mult")],
)  # fmt: skip
def test_bad_arguments_are_named(kwargs: dict, word: str) -> None:
    with pytest.raises(ValueError, match=word):
        awd_lstm_lm(30, **{**SMALL, **kwargs})


def test_eval_is_deterministic_and_training_is_not() -> None:
    model = awd_lstm_lm(30, **SMALL)
    tokens = torch.randint(0, 30, (4, 9))
    model.eval()
    first = model(tokens)
    model.reset()
    assert torch.equal(first, model(tokens))
    model.train()
    model.reset()
    noisy = model(tokens)
    model.reset()
    assert not torch.allclose(noisy, model(tokens))


def test_weight_drop_changes_training_outputs_and_eval_uses_raw_weights() -> None:
    only_weight = {**NO_DROPOUT, "weight_p": 0.5}
    model = awd_lstm_lm(30, **SMALL, **only_weight).train()
    tokens = torch.randint(0, 30, (4, 9))
    outputs = []
    for _ in range(2):
        model.reset()
        outputs.append(model(tokens))
    assert not torch.allclose(outputs[0], outputs[1])
    quiet = awd_lstm_lm(30, **SMALL, **NO_DROPOUT).train()
    quiet.load_state_dict(model.state_dict())
    quiet.reset()
    model.eval().reset()
    assert torch.allclose(quiet(tokens), model(tokens))
    # eval equals a plain LSTM holding the raw weights
    rnn = model.encoder.rnns[0]
    plain = nn.LSTM(8, 12, batch_first=True)
    state = {**rnn.module.state_dict(), "weight_hh_l0": rnn.weight_hh_l0_raw.detach()}
    plain.load_state_dict(state)
    x = torch.randn(2, 5, 8)
    assert torch.allclose(rnn(x)[0], plain(x)[0])


def test_weight_drop_trains_the_raw_weight_and_leaves_no_graph_behind() -> None:
    model = awd_lstm_lm(30, **SMALL, drop_mult=1.0).train()
    model(torch.randint(0, 30, (2, 6))).sum().backward()
    rnn = model.encoder.rnns[0]
    assert rnn.weight_hh_l0_raw.grad is not None
    assert rnn.weight_hh_l0_raw.grad.abs().sum() > 0
    assert "module.weight_hh_l0" not in dict(model.named_parameters())
    copy.deepcopy(model)  # fails if a non-leaf tensor is kept on the module


def test_embedding_dropout_drops_whole_words() -> None:
    embedding = DropoutEmbedding(50, 6, embed_p=0.5).train()
    tokens = torch.arange(50).repeat(2, 3)  # every word several times
    out = embedding(tokens)  # (2, 150, 6)
    zero = (out == 0).all(dim=-1)
    per_word = zero.view(2, 3, 50)
    assert (per_word == per_word[:1, :1]).all()  # a word is dropped everywhere or nowhere
    assert 0 < per_word[0, 0].sum() < 50
    kept = ~zero
    assert torch.allclose(out[kept], 2 * embedding.weight[tokens][kept])


def test_locked_dropout_shares_its_mask_over_time() -> None:
    out = LockedDropout(0.5).train()(torch.ones(3, 7, 10))
    assert (out == out[:, :1]).all()
    assert set(out.unique().tolist()) == {0.0, 2.0}


def test_state_is_carried_between_windows_and_reset() -> None:
    model = awd_lstm_lm(30, **SMALL).eval()
    tokens = torch.randint(0, 30, (3, 12))
    whole = model(tokens)
    model.reset()
    model(tokens[:, :5])
    second = model(tokens[:, 5:])
    assert torch.allclose(second, whole[:, 5:], atol=1e-6)
    model.reset()
    assert not torch.allclose(model(tokens[:, 5:]), whole[:, 5:])


def test_batch_size_change_keeps_the_rows_it_can() -> None:
    model = awd_lstm_lm(30, **SMALL).eval()
    first, then = torch.randint(0, 30, (3, 6)), torch.randint(0, 30, (3, 4))
    model(first)
    full = model(then)
    model.reset()
    model(first)
    assert torch.allclose(model(then[:2]), full[:2], atol=1e-6)  # fewer rows: the first go on
    model.reset()
    model(first[:2])
    more = model(then)  # a new row starts from zeros
    model.reset()
    assert torch.allclose(more[:2], full[:2], atol=1e-6)
    assert torch.allclose(more[2:], model(then[2:]), atol=1e-6)


def test_tied_weights_share_storage() -> None:
    model = awd_lstm_lm(30, **SMALL)
    assert model.decoder.weight is model.encoder.embedding.weight
    assert model.decoder.weight.data_ptr() == model.encoder.embedding.weight.data_ptr()
    loaded = awd_lstm_lm(30, **SMALL)
    loaded.load_state_dict(model.state_dict())
    assert loaded.decoder.weight is loaded.encoder.embedding.weight
    untied = awd_lstm_lm(30, **SMALL, tie_weights=False)
    assert untied.decoder.weight is not untied.encoder.embedding.weight


def test_a_tiny_language_model_learns_a_repeating_sequence() -> None:
    torch.manual_seed(0)
    model = awd_lstm_lm(12, emb_sz=16, n_hid=32, n_layers=2, drop_mult=0.1)
    stream = torch.arange(2, 12).repeat(40)  # 2..11 over and over
    batches = stream.view(4, -1)  # (4, 100)
    opt = torch.optim.Adam(model.parameters(), lr=3e-2)
    losses = []
    for step in range(50):
        if step % 5 == 0:
            model.reset()
        begin = step % 5 * 16
        x, y = batches[:, begin : begin + 16], batches[:, begin + 1 : begin + 17]
        loss = nn.functional.cross_entropy(model(x).flatten(0, 1), y.flatten())
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[0] > 2.0
    assert sum(losses[-5:]) / 5 < 0.4 * losses[0]


def classifier(**kwargs: object) -> nn.Module:
    return awd_lstm_clas(40, 3, **SMALL, bptt=4, max_len=10, lin_ftrs=[6], **kwargs)


def test_classifier_logits_ignore_padding_on_either_side() -> None:
    model = classifier().eval()
    document = torch.randint(2, 40, (13,))  # longer than max_len, several windows
    other = torch.randint(2, 40, (21,))
    alone = model(document[None])
    right = torch.cat([document, torch.ones(7, dtype=torch.long)])[None]
    left = torch.cat([torch.ones(5, dtype=torch.long), document])[None]
    batch = torch.stack([torch.cat([document, torch.ones(8, dtype=torch.long)]), other])
    for padded in (model(right), model(left), model(batch)[:1]):
        assert torch.allclose(padded, alone, atol=1e-5)
    longer = torch.cat([torch.randint(2, 40, (3,)), document])[None]
    assert (model(longer) - alone).abs().max() > 1e-4  # the check above can fail


def test_only_the_last_max_len_tokens_get_gradients() -> None:
    model = classifier(**NO_DROPOUT).train()
    early, late = torch.arange(2, 14), torch.arange(20, 30)  # 12 then 10 (= max_len) tokens
    tokens = torch.stack([torch.cat([early, late]), torch.cat([early.flip(0), late.flip(0)])])
    model(tokens).sum().backward()
    grad = model.encoder.embedding.weight.grad.abs().sum(dim=1)
    assert (grad[early] == 0).all()
    assert (grad[late] > 0).all()


def _padded_documents(lengths: list[int], width: int, vocab: int = 40) -> torch.Tensor:
    tokens = torch.randint(
        2, vocab, (len(lengths), width), generator=torch.Generator().manual_seed(0)
    )
    for row, length in enumerate(lengths):
        tokens[row, length:] = 1
    tokens[1] = tokens[1].roll(2)  # one row padded on both sides
    return tokens


def test_the_traced_reading_answers_as_the_eager_one(monkeypatch: pytest.MonkeyPatch) -> None:
    # under torch.export the whole padded width is read in one call: rows longer than max_len
    # and than a window, short rows, an empty row, padding past the longest document
    model = classifier().eval()
    tokens = _padded_documents([13, 5, 0, 9], width=17)
    with torch.no_grad():
        eager = model(tokens)
        monkeypatch.setattr(torch.compiler, "is_exporting", lambda: True)
        traced = model(tokens)
    torch.testing.assert_close(traced, eager, atol=1e-5, rtol=1e-5)
    assert model.encoder.hidden is None
    assert (eager[0] - eager[1]).abs().max() > 1e-4  # rows differ: the check above can fail


def test_padding_moves_right_in_order() -> None:
    tokens = _padded_documents([6, 3, 0, 8], width=8)
    moved, lengths = move_padding_right(tokens, pad_token=1)
    order = torch.sort((tokens == 1).to(torch.uint8), dim=1, stable=True).indices
    torch.testing.assert_close(moved, tokens.gather(1, order))
    assert lengths.tolist() == [6, 3, 1, 8]  # an empty row reads its first pad


def test_masked_concat_pool_reads_only_the_mask() -> None:
    outputs = torch.randn(2, 5, 3)
    mask = torch.tensor([[False, False, True, True, True], [True, True, True, False, False]])
    pooled = masked_concat_pool(outputs, mask)
    for row, (begin, end) in enumerate([(2, 5), (0, 3)]):
        real = outputs[row, begin:end]
        expected = torch.cat([real[-1], real.max(dim=0).values, real.mean(dim=0)])
        assert torch.allclose(pooled[row], expected)


def test_splits_cover_every_parameter_once() -> None:
    lm = awd_lstm_lm(30, **SMALL)
    groups = awd_lstm_lm_split(lm)
    assert len(groups) == 3  # each LSTM layer, then embedding + decoder
    assert any(p is lm.encoder.embedding.weight for p in groups[-1])
    clas = classifier()
    clas_groups = awd_lstm_clas_split(clas)
    assert len(clas_groups) == 4  # embedding, each LSTM layer, head
    for model, parts in ((lm, groups), (clas, clas_groups)):
        ids = [id(p) for group in parts for p in group]
        assert len(ids) == len(set(ids))
        assert set(ids) == {id(p) for p in model.parameters()}


def test_default_split_knows_the_text_models() -> None:
    from lamina.models import default_split

    model = classifier()
    assert [len(g) for g in default_split(model)] == [len(g) for g in awd_lstm_clas_split(model)]
