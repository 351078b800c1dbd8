"""AWD-LSTM (Merity et al., 2017, arXiv:1708.02182): a language model and a text classifier.

The encoder is stateful, as ULMFiT trains it: each call continues from the hidden state the
previous call left (detached, so gradients stop at the window's start), which lets a language
model read a corpus in consecutive BPTT windows. Call `reset()` between unrelated streams (at
each epoch and before validation). Parameter names follow fastai's, so the published
WikiText-103 weights load after a simple renaming (`lamina.text.pretrained`).

Example:
    >>> model = build_model("awd_lstm_lm", vocab_sz=1000)
    >>> logits = model(torch.randint(0, 1000, (8, 72)))  # (8, 72, 1000)
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from lamina.core.registry import register
from lamina.models._checks import check_positive_int
from lamina.models.rnn_dropout import DropoutEmbedding, LockedDropout, WeightDropLSTM
from lamina.models.text_head import PoolingClassifierHead, move_padding_right

State = tuple[torch.Tensor, torch.Tensor]

# fastai's defaults (ULMFiT), each multiplied by `drop_mult`.
LM_DROPOUTS = {"output_p": 0.1, "hidden_p": 0.15, "input_p": 0.25, "embed_p": 0.02, "weight_p": 0.2}
CLAS_DROPOUTS = {"output_p": 0.4, "hidden_p": 0.3, "input_p": 0.4, "embed_p": 0.05, "weight_p": 0.5}
INIT_RANGE = 0.1


class AWDLSTM(nn.Module):
    """The AWD-LSTM encoder: dropout embedding, input dropout, `n_layers` weight-dropped LSTMs
    with locked dropout between them. The last layer has `emb_sz` units (for weight tying).

    Shapes: tokens (batch, seq) -> outputs of the last layer (batch, seq, emb_sz).

    Args:
        input_p: locked dropout on the embedded input.
        hidden_p: locked dropout between LSTM layers.
        embed_p: probability of dropping a whole word's embedding.
        weight_p: DropConnect on each LSTM's hidden-to-hidden weights.
    """

    def __init__(
        self,
        vocab_sz: int,
        emb_sz: int = 400,
        n_hid: int = 1152,
        n_layers: int = 3,
        pad_token: int = 1,
        hidden_p: float = 0.2,
        input_p: float = 0.6,
        embed_p: float = 0.1,
        weight_p: float = 0.5,
    ) -> None:
        super().__init__()
        for name, value in (("vocab_sz", vocab_sz), ("emb_sz", emb_sz), ("n_hid", n_hid),
                            ("n_layers", n_layers)):  # fmt: skip
            check_positive_int(name, value)
        if not (isinstance(pad_token, int) and 0 <= pad_token < vocab_sz):
            raise ValueError(f"pad_token must be a token id in [0, {vocab_sz}), got {pad_token!r}")
        self.emb_sz, self.n_hid, self.n_layers, self.pad_token = emb_sz, n_hid, n_layers, pad_token
        self.embedding = DropoutEmbedding(vocab_sz, emb_sz, padding_idx=pad_token, embed_p=embed_p)
        self.input_dropout = LockedDropout(input_p)
        sizes = [emb_sz] + [n_hid] * (n_layers - 1) + [emb_sz]
        self.rnns = nn.ModuleList(
            WeightDropLSTM(n_in, n_out, weight_p)
            for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True)
        )
        self.hidden_dropouts = nn.ModuleList(LockedDropout(hidden_p) for _ in range(n_layers - 1))
        with torch.no_grad():
            self.embedding.weight.uniform_(-INIT_RANGE, INIT_RANGE)
            self.embedding.weight[pad_token].zero_()
        self.hidden: list[State] | None = None

    def reset(self) -> None:
        """Forget the hidden state: the next call starts from zeros."""
        self.hidden = None

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        if tokens.dim() != 2:
            raise ValueError(f"tokens must be (batch, seq), got shape {tuple(tokens.shape)}")
        output = self.input_dropout(self.embedding(tokens))  # (B, T, emb_sz)
        hidden = self._state_for(tokens.size(0), output)
        new_hidden: list[State] = []
        for index, rnn in enumerate(self.rnns):
            output, state = rnn(output, hidden[index])  # (B, T, n_out)
            new_hidden.append((state[0].detach(), state[1].detach()))
            if index < self.n_layers - 1:
                output = self.hidden_dropouts[index](output)
        self.hidden = new_hidden
        return output

    def _state_for(self, batch: int, like: torch.Tensor) -> list[State]:
        """The carried state fitted to `batch` rows: cut, or padded with zeros (new rows)."""
        if self.hidden is None or self.hidden[0][0].device != like.device:
            sizes = [self.n_hid] * (self.n_layers - 1) + [self.emb_sz]  # each rnn's hidden_size
            return [(like.new_zeros(1, batch, n), like.new_zeros(1, batch, n)) for n in sizes]
        fitted = []
        for h, c in self.hidden:  # each (1, old_batch, n)
            if h.size(1) > batch:
                h, c = h[:, :batch], c[:, :batch]
            elif h.size(1) < batch:
                extra = h.new_zeros(1, batch - h.size(1), h.size(2))
                h, c = torch.cat([h, extra], dim=1), torch.cat([c, extra], dim=1)
            # autocast may have left half precision; it casts down again where it is active
            fitted.append((h.to(like.dtype), c.to(like.dtype)))
        return fitted


class AWDLSTMLanguageModel(nn.Module):
    """AWD-LSTM encoder, locked dropout, and a linear decoder tied to the embedding.

    Shapes: tokens (batch, seq) -> logits (batch, seq, vocab_sz). For AR/TAR regularization,
    the encoder's output (raw) and the decoder's input (dropped) can be read with hooks.
    """

    def __init__(self, encoder: AWDLSTM, output_p: float = 0.1, tie_weights: bool = True) -> None:
        super().__init__()
        self.encoder = encoder
        self.output_dropout = LockedDropout(output_p)
        vocab_sz = encoder.embedding.num_embeddings
        self.decoder = nn.Linear(encoder.emb_sz, vocab_sz)
        with torch.no_grad():
            self.decoder.weight.uniform_(-INIT_RANGE, INIT_RANGE)
            self.decoder.bias.zero_()
        if tie_weights:
            self.decoder.weight = encoder.embedding.weight

    def reset(self) -> None:
        """Forget the encoder's hidden state."""
        self.encoder.reset()

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.output_dropout(self.encoder(tokens)))


class AWDLSTMClassifier(nn.Module):
    """An AWD-LSTM encoder read over a whole document in windows, then a pooling head.

    The document is read `bptt` tokens at a time, carrying the state; only each row's last
    `max_len` tokens keep gradients and are pooled (earlier windows run without autograd).
    Batches are padded on the right; left padding is accepted and moved (see `text_head`).

    Under `torch.export` the whole padded width is read in one call instead (a traced graph
    cannot hold sizes read from the data, such as the longest document's length); in eval mode
    the two give the same logits, since the state carried between windows is what one call
    carries between steps, and padding after a document is never pooled.

    Shapes: tokens (batch, seq) padded with `pad_token` -> logits (batch, n_classes).
    """

    def __init__(
        self, encoder: AWDLSTM, head: PoolingClassifierHead, bptt: int = 72, max_len: int = 1440
    ) -> None:
        super().__init__()
        check_positive_int("bptt", bptt)
        check_positive_int("max_len", max_len)
        self.encoder, self.head, self.bptt, self.max_len = encoder, head, bptt, max_len

    def reset(self) -> None:
        """Forget the encoder's hidden state (each forward call also starts from zeros)."""
        self.encoder.reset()

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        if tokens.dim() != 2 or tokens.size(1) == 0:
            raise ValueError(
                f"tokens must be (batch, seq) with seq >= 1, got {tuple(tokens.shape)}"
            )
        tokens, lengths = move_padding_right(tokens, self.encoder.pad_token)
        if torch.compiler.is_exporting():
            return self._read_whole_width(tokens, lengths)
        # reading stops at the longest document; this host sync is one per batch
        seq = min(int(lengths.max()), tokens.size(1))
        tokens = tokens[:, :seq]
        start = (lengths - self.max_len).clamp(min=0)  # (B,) first token kept per row
        first_kept = int(start.min()) // self.bptt * self.bptt
        self.encoder.reset()
        outputs = []
        for begin in range(0, seq, self.bptt):
            window = tokens[:, begin : begin + self.bptt]
            if begin < first_kept:
                with torch.no_grad():
                    self.encoder(window)
            else:
                outputs.append(self.encoder(window))  # (B, w, emb_sz)
        self.encoder.reset()
        positions = torch.arange(first_kept, seq, device=tokens.device)
        mask = (positions >= start[:, None]) & (positions < lengths[:, None])  # (B, T_kept)
        return self.head(torch.cat(outputs, dim=1), mask)

    def _read_whole_width(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The traceable reading: every position in one encoder call, padding masked out."""
        self.encoder.reset()
        outputs = self.encoder(tokens)  # (B, T, emb_sz)
        self.encoder.reset()
        positions = torch.arange(tokens.size(1), device=tokens.device)
        start = (lengths - self.max_len).clamp(min=0)  # (B,)
        mask = (positions >= start[:, None]) & (positions < lengths[:, None])  # (B, T)
        return self.head(outputs, mask)


def _dropouts(defaults: dict[str, float], drop_mult: float, given: dict) -> dict[str, float]:
    if isinstance(drop_mult, bool) or not isinstance(drop_mult, (int, float)) or drop_mult < 0:
        raise ValueError(f"drop_mult must be a non-negative number, got {drop_mult!r}")
    return {
        name: (default if given[name] is None else given[name]) * drop_mult
        for name, default in defaults.items()
    }


@register("model", "awd_lstm_lm")
def awd_lstm_lm(
    vocab_sz: int,
    emb_sz: int = 400,
    n_hid: int = 1152,
    n_layers: int = 3,
    pad_token: int = 1,
    drop_mult: float = 1.0,
    output_p: float | None = None,
    hidden_p: float | None = None,
    input_p: float | None = None,
    embed_p: float | None = None,
    weight_p: float | None = None,
    tie_weights: bool = True,
) -> AWDLSTMLanguageModel:
    """An AWD-LSTM language model (fastai's sizes by default).

    Args:
        drop_mult: multiplies every dropout; a dropout left None takes fastai's language-model
            default (output 0.1, hidden 0.15, input 0.25, embed 0.02, weight 0.2).
        tie_weights: the decoder shares the embedding matrix.
    """
    given = {"output_p": output_p, "hidden_p": hidden_p, "input_p": input_p,
             "embed_p": embed_p, "weight_p": weight_p}  # fmt: skip
    dropouts = _dropouts(LM_DROPOUTS, drop_mult, given)
    output_p = dropouts.pop("output_p")
    encoder = AWDLSTM(vocab_sz, emb_sz, n_hid, n_layers, pad_token, **dropouts)
    return AWDLSTMLanguageModel(encoder, output_p, tie_weights)


@register("model", "awd_lstm_clas")
def awd_lstm_clas(
    vocab_sz: int,
    n_classes: int,
    emb_sz: int = 400,
    n_hid: int = 1152,
    n_layers: int = 3,
    pad_token: int = 1,
    drop_mult: float = 1.0,
    output_p: float | None = None,
    hidden_p: float | None = None,
    input_p: float | None = None,
    embed_p: float | None = None,
    weight_p: float | None = None,
    bptt: int = 72,
    max_len: int = 72 * 20,
    lin_ftrs: Sequence[int] | None = None,
    ps: Sequence[float] | None = None,
) -> AWDLSTMClassifier:
    """An AWD-LSTM text classifier (ULMFiT): encoder, masked concat pooling, linear layers.

    Args:
        drop_mult: multiplies every dropout; a dropout left None takes fastai's classifier
            default (output 0.4, hidden 0.3, input 0.4, embed 0.05, weight 0.5). `output_p`
            is the dropout on the pooled features.
        bptt: tokens read per window; max_len: tokens per document that keep gradients.
        lin_ftrs: hidden sizes of the head (default [50]); ps: their dropouts (default 0.1).
    """
    given = {"output_p": output_p, "hidden_p": hidden_p, "input_p": input_p,
             "embed_p": embed_p, "weight_p": weight_p}  # fmt: skip
    dropouts = _dropouts(CLAS_DROPOUTS, drop_mult, given)
    output_p = dropouts.pop("output_p")
    encoder = AWDLSTM(vocab_sz, emb_sz, n_hid, n_layers, pad_token, **dropouts)
    head = PoolingClassifierHead(emb_sz, n_classes, lin_ftrs, ps, first_p=output_p)
    return AWDLSTMClassifier(encoder, head, bptt, max_len)


def _unique(modules: Sequence[nn.Module]) -> list[nn.Parameter]:
    seen: set[int] = set()
    params = []
    for module in modules:
        for param in module.parameters():
            if id(param) not in seen:
                seen.add(id(param))
                params.append(param)
    return params


def awd_lstm_lm_split(model: AWDLSTMLanguageModel) -> list[list[nn.Parameter]]:
    """Parameter groups of a language model, earliest first: one per LSTM layer, then the
    embedding with the decoder (tied, they are one matrix), as fastai groups them."""
    encoder = model.encoder
    groups = [_unique([rnn]) for rnn in encoder.rnns]
    return [*groups, _unique([encoder.embedding, model.decoder])]


def awd_lstm_clas_split(model: AWDLSTMClassifier) -> list[list[nn.Parameter]]:
    """Parameter groups of a classifier: the embedding, one per LSTM layer, then the head."""
    encoder = model.encoder
    return [
        _unique([encoder.embedding]),
        *(_unique([rnn]) for rnn in encoder.rnns),
        _unique([model.head]),
    ]
