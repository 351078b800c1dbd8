"""The text Transformer: shapes, causality, tied weights, padding-blind pooling, learning."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from lamina.models import (
    build_model,
    transformer_clas,
    transformer_clas_split,
    transformer_lm,
    transformer_lm_split,
)

SMALL = {"d_model": 16, "n_heads": 2, "n_layers": 2, "max_len": 24}


def test_built_by_name_from_json_kwargs() -> None:
    kwargs = json.loads(json.dumps({"vocab_sz": 30, **SMALL}))
    lm = build_model("transformer_lm", **kwargs)
    assert lm(torch.randint(0, 30, (3, 7))).shape == (3, 7, 30)
    clas = build_model("transformer_clas", n_classes=4, lin_ftrs=[6], **kwargs)
    assert clas(torch.randint(2, 30, (3, 40))).shape == (3, 4)  # longer than max_len


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [({"d_model": 15}, "d_model"), ({"dropout": 1.0}, "dropout"), ({"max_len": 0}, "max_len")],
)
def test_bad_arguments_are_named(kwargs: dict, word: str) -> None:
    with pytest.raises(ValueError, match=word):
        transformer_lm(30, **{**SMALL, **kwargs})


def test_language_model_is_causal_and_deterministic_in_eval() -> None:
    model = transformer_lm(30, **SMALL).eval()
    tokens = torch.randint(0, 30, (2, 10))
    changed = tokens.clone()
    changed[:, 6:] = torch.randint(0, 30, (2, 4))
    out, out_changed = model(tokens), model(changed)
    assert torch.allclose(out[:, :6], out_changed[:, :6], atol=1e-5)  # the future is unseen
    assert not torch.allclose(out[:, 6:], out_changed[:, 6:], atol=1e-3)
    assert torch.equal(out, model(tokens))
    model.train()
    assert not torch.allclose(model(tokens), model(tokens))


def test_too_long_input_is_refused_by_the_language_model() -> None:
    with pytest.raises(ValueError, match="max_len"):
        transformer_lm(30, **SMALL)(torch.zeros(1, 25, dtype=torch.long))


def test_tied_weights_share_storage() -> None:
    model = transformer_lm(30, **SMALL)
    assert model.decoder.weight is model.encoder.embedding.weight
    assert model.decoder.weight.data_ptr() == model.encoder.embedding.weight.data_ptr()


def test_classifier_logits_ignore_padding_on_either_side() -> None:
    model = transformer_clas(40, 3, **SMALL, lin_ftrs=[6]).eval()
    document = torch.randint(2, 40, (30,))  # longer than max_len: the last 24 are read
    alone = model(document[None])
    pad = torch.ones(9, dtype=torch.long)
    right, left = torch.cat([document, pad])[None], torch.cat([pad, document])[None]
    batch = torch.stack([torch.cat([document, pad[:3]]), torch.randint(2, 40, (33,))])
    for padded in (model(right), model(left), model(batch)[:1]):
        assert torch.allclose(padded, alone, atol=1e-5)
    changed_early = document.clone()
    changed_early[0] = (document[0] + 1 - 2) % 38 + 2  # outside the last max_len tokens
    assert torch.allclose(model(changed_early[None]), alone, atol=1e-5)
    changed_late = document.clone()
    changed_late[-1] = (document[-1] + 1 - 2) % 38 + 2
    assert (model(changed_late[None]) - alone).abs().max() > 1e-4


def test_the_traced_reading_answers_as_the_eager_one(monkeypatch: pytest.MonkeyPatch) -> None:
    # under torch.export the whole padded width (at most max_len) is read, not the longest row
    model = transformer_clas(40, 3, **SMALL, lin_ftrs=[6]).eval()
    tokens = torch.randint(2, 40, (4, 20), generator=torch.Generator().manual_seed(0))
    for row, length in enumerate([16, 5, 0, 11]):
        tokens[row, length:] = 1
    tokens[1] = tokens[1].roll(3)  # padded on both sides
    with torch.no_grad():
        eager = model(tokens)
        monkeypatch.setattr(torch.compiler, "is_exporting", lambda: True)
        traced = model(tokens)
    torch.testing.assert_close(traced, eager, atol=1e-5, rtol=1e-5)
    assert (eager[0] - eager[1]).abs().max() > 1e-4  # rows differ: the check above can fail


def test_splits_cover_every_parameter_once() -> None:
    lm = transformer_lm(30, **SMALL)
    clas = transformer_clas(30, 3, **SMALL)
    for model, groups, count in ((lm, transformer_lm_split(lm), 3),
                                 (clas, transformer_clas_split(clas), 4)):  # fmt: skip
        assert len(groups) == count
        ids = [id(p) for group in groups for p in group]
        assert len(ids) == len(set(ids))
        assert set(ids) == {id(p) for p in model.parameters()}


def test_a_tiny_language_model_learns_a_repeating_sequence() -> None:
    torch.manual_seed(0)
    model = transformer_lm(12, d_model=32, n_heads=2, n_layers=1, max_len=16, dropout=0.0)
    batches = torch.arange(2, 12).repeat(40).view(4, -1)  # (4, 100)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for step in range(30):
        begin = step % 5 * 16
        x, y = batches[:, begin : begin + 15], batches[:, begin + 1 : begin + 16]
        loss = nn.functional.cross_entropy(model(x).flatten(0, 1), y.flatten())
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[0] > 2.0
    assert sum(losses[-5:]) / 5 < 0.3 * losses[0]
