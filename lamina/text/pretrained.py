"""fastai's pretrained WikiText-103 AWD-LSTM, read safely and fitted to a new vocabulary.

The published archive (`WT103_FWD_URL`, fastai's `URLs.WT103_FWD`) holds a torch state dict
(`lstm_fwd.pth`, fastai's parameter names) and the vocabulary it was trained with
(`itos_wt103.pkl`, a pickled list of strings). Neither file is unpickled freely: the state
dict goes through `torch.load(weights_only=True)`, which rebuilds tensors only, and the
vocabulary through an unpickler that can build no object at all (`read_vocab`), so a tampered
file is refused instead of run. The weights suit `awd_lstm_lm`/`awd_lstm_clas` with fastai's
sizes (emb_sz=400, n_hid=1152, n_layers=3).

`LAMINA_WEIGHTS_URL` replaces the base URL (a mirror or a local server), as for the vision
weights; the archive is downloaded once into lamina's cache (`lamina.data.download`).

Example:
    >>> model = build_model("awd_lstm_lm", vocab_sz=len(vocab))
    >>> load_pretrained(model, vocab)  # downloads once, then matches the embeddings
"""

from __future__ import annotations

import os
import pickle
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from lamina.core.registry import lookup, register, registered_names
from lamina.data.download import DownloadError, cache_dir, download_data
from lamina.models.awd_lstm import AWDLSTMClassifier, AWDLSTMLanguageModel

WT103_FWD_URL = "https://s3.amazonaws.com/fast-ai-modelzoo/wt103-fwd.tgz"
BASE_URL_ENV = "LAMINA_WEIGHTS_URL"
EMBEDDING = "encoder.embedding.weight"
DECODER_WEIGHT, DECODER_BIAS = "decoder.weight", "decoder.bias"
StateDict = dict[str, torch.Tensor]
PathLike = str | os.PathLike


@dataclass(frozen=True)
class TextWeightsSpec:
    """A downloadable archive of pretrained text weights and their vocabulary.

    Attributes:
        url: the archive's URL; only its file name is kept when `LAMINA_WEIGHTS_URL` is set.
        sha256: its SHA-256 hex digest, checked before use (None: not verified).
        arch: the registered model names the weights fit.
        convert: registered name (kind `"weights_convert"`) of `state_dict -> state_dict`.
    """

    url: str
    sha256: str | None
    arch: tuple[str, ...]
    convert: str

    def resolved_url(self) -> str:
        """The URL to fetch: `url`, or its file name under `$LAMINA_WEIGHTS_URL` when set."""
        base = os.environ.get(BASE_URL_ENV)
        if not base:
            return self.url
        return f"{base.rstrip('/')}/{self.url.rsplit('/', 1)[-1]}"


# ----------------------------------------------------------------------------- reading
class _NoObjectsUnpickler(pickle.Unpickler):
    """Builds lists, strings and numbers only: every class or function lookup is refused."""

    def find_class(self, module: str, name: str) -> None:
        raise pickle.UnpicklingError(f"it refers to {module}.{name}")


def read_vocab(path: PathLike) -> list[str]:
    """The vocabulary in a pickled list of strings (fastai's `itos_*.pkl`), read without
    building any object; anything else raises a `ValueError` naming the file."""
    path = Path(path)
    with open(path, "rb") as handle:
        try:
            vocab = _NoObjectsUnpickler(handle).load()
        except Exception as error:  # a malformed pickle raises many kinds; all mean "refused"
            raise ValueError(
                f"{path} is not a pickled list of strings ({error}); refusing to read it"
            ) from None
    if not (isinstance(vocab, list) and all(isinstance(token, str) for token in vocab)):
        raise ValueError(f"{path} must hold a list of strings, got {type(vocab).__name__}")
    return vocab


def read_state_dict(path: PathLike) -> StateDict:
    """Tensors from a torch state dict file, read with `torch.load(weights_only=True)`.

    A checkpoint holding `{"model": state_dict, ...}` (fastai with optimizer) is unwrapped.
    """
    state = torch.load(path, weights_only=True, map_location="cpu")
    if isinstance(state, Mapping) and "model" in state and isinstance(state["model"], Mapping):
        state = state["model"]
    if not (isinstance(state, Mapping) and all(torch.is_tensor(v) for v in state.values())):
        raise ValueError(f"{path} does not hold a state dict (names to tensors)")
    return dict(state)


# ----------------------------------------------------------------------------- converting
_PREFIX = r"(?:0\.(?:module\.)?)?"  # LM ("0."), classifier ("0.module.") or a bare encoder
_RENAMES = [
    (re.compile(_PREFIX + r"encoder\.weight"), EMBEDDING),
    (re.compile(_PREFIX + r"encoder_dp\.emb\.weight"), None),  # the same matrix again
    (re.compile(_PREFIX + r"rnns\.(\d+)\.weight_hh_l0_raw"), r"encoder.rnns.\1.weight_hh_l0_raw"),
    (re.compile(_PREFIX + r"rnns\.(\d+)\.module\.(weight_ih_l0|bias_ih_l0|bias_hh_l0)"),
     r"encoder.rnns.\1.module.\2"),
    (re.compile(r"1\.decoder\.(weight|bias)"), r"decoder.\1"),
]  # fmt: skip
# older fastai files also keep the last dropped copy of the raw weight; used only when alone
_STALE_HH = re.compile(_PREFIX + r"rnns\.(\d+)\.module\.weight_hh_l0")


@register("weights_convert", "fastai_awd_lstm")
def convert_fastai_awd_lstm(state_dict: Mapping[str, torch.Tensor]) -> StateDict:
    """fastai AWD-LSTM parameter names to lamina's (`awd_lstm_lm`'s).

    Accepts a language model's (`0.`/`1.`), a classifier encoder's (`0.module.`) or a saved
    encoder's (no prefix) names; a key of anything else raises a `ValueError`.
    """
    converted: StateDict = {}
    stale: StateDict = {}
    unknown = []
    for key, tensor in state_dict.items():
        if match := _STALE_HH.fullmatch(key):
            stale[f"encoder.rnns.{match[1]}.weight_hh_l0_raw"] = tensor
            continue
        for pattern, target in _RENAMES:
            if match := pattern.fullmatch(key):
                if target is not None:
                    converted[match.expand(target)] = tensor
                break
        else:
            unknown.append(key)
    if unknown:
        raise ValueError(f"not a fastai AWD-LSTM state dict: unexpected keys {unknown[:5]}")
    return {**stale, **converted}


def match_embeddings(
    old_weights: Mapping[str, torch.Tensor], old_vocab: Sequence[str], new_vocab: Sequence[str]
) -> StateDict:
    """`old_weights` (lamina names) with the embedding, decoder weight and decoder bias
    re-indexed from `old_vocab` to `new_vocab`.

    A token of `new_vocab` found in `old_vocab` gets its old row; an unseen one gets the mean
    row (the mean bias). The input is left unchanged.
    """
    embedding = old_weights[EMBEDDING]
    if embedding.size(0) != len(old_vocab):
        raise ValueError(
            f"the embedding has {embedding.size(0)} rows but old_vocab has {len(old_vocab)} tokens"
        )
    old_index: dict[str, int] = {}
    for index, token in enumerate(old_vocab):
        old_index.setdefault(token, index)
    rows = torch.tensor([old_index.get(token, -1) for token in new_vocab], dtype=torch.long)
    seen = rows >= 0

    def remap(matrix: torch.Tensor) -> torch.Tensor:
        new = matrix.mean(dim=0).expand(len(new_vocab), *matrix.shape[1:]).clone()
        new[seen] = matrix[rows[seen]]
        return new

    new_weights = dict(old_weights)
    for key in (EMBEDDING, DECODER_WEIGHT, DECODER_BIAS):
        if key in new_weights:
            new_weights[key] = remap(new_weights[key])
    return new_weights


# ----------------------------------------------------------------------------- fetching
register("weights", "awd_lstm")(
    # fastai publishes no checksum for this archive: set sha256 once one is recorded
    TextWeightsSpec(WT103_FWD_URL, None, ("awd_lstm_lm", "awd_lstm_clas"), "fastai_awd_lstm")
)


def text_weights_spec(name: str) -> TextWeightsSpec:
    """The registered text weights `name`; a `ValueError` listing the known ones."""
    try:
        spec = lookup("weights", name)
    except KeyError:
        spec = None
    if not isinstance(spec, TextWeightsSpec):
        known = [n for n in registered_names("weights")
                 if isinstance(lookup("weights", n), TextWeightsSpec)]  # fmt: skip
        raise ValueError(f"no pretrained text weights named {name!r}; known: {known}")
    return spec


def read_pretrained(
    weights: PathLike, vocab: PathLike, convert: str = "fastai_awd_lstm"
) -> tuple[StateDict, list[str]]:
    """`(state_dict, vocab)` from a weights file and a vocabulary file, names converted."""
    return lookup("weights_convert", convert)(read_state_dict(weights)), read_vocab(vocab)


def fetch_pretrained(name: str = "awd_lstm") -> tuple[StateDict, list[str]]:
    """Download (once) and read the registered text weights `name`: `(state_dict, vocab)`."""
    spec = text_weights_spec(name)
    url = spec.resolved_url()
    try:
        folder = download_data(url, sha256=spec.sha256)
    except DownloadError as error:
        where = cache_dir() / "downloads" / url.rsplit("/", 1)[-1]
        raise DownloadError(
            f"could not download the pretrained weights {name!r} from {url} ({error}). "
            f"Offline, download that file elsewhere and put it at {where}"
        ) from error
    return read_pretrained(_only(folder, "pth"), _only(folder, "pkl"), spec.convert)


def _only(folder: Path, suffix: str) -> Path:
    found = sorted(folder.rglob(f"*.{suffix}"))
    if len(found) != 1:
        raise ValueError(f"expected one .{suffix} file in {folder}, found {len(found)}")
    return found[0]


def load_pretrained(
    model: nn.Module,
    vocab: Sequence[str],
    source: str | tuple[PathLike, PathLike] = "awd_lstm",
) -> nn.Module:
    """Load pretrained AWD-LSTM weights into `model`, fitted to its vocabulary `vocab`.

    An `awd_lstm_lm` gets every weight; an `awd_lstm_clas` gets the encoder's (its head
    stays as built). The model's sizes must be the pretrained ones.

    Args:
        vocab: the model's tokens, in id order (`len(vocab)` is its `vocab_sz`).
        source: a registered name (downloaded), or `(weights_file, vocab_file)` in fastai's
            format (for instance a fine-tuned model saved by fastai).
    """
    if isinstance(source, str):
        state, old_vocab = fetch_pretrained(source)
    else:
        state, old_vocab = read_pretrained(*source)
    state = match_embeddings(state, old_vocab, vocab)
    if not isinstance(model, (AWDLSTMLanguageModel, AWDLSTMClassifier)):
        raise TypeError(f"model must be an AWD-LSTM language model or classifier, got "
                        f"{type(model).__name__}")  # fmt: skip
    awd: AWDLSTMLanguageModel | AWDLSTMClassifier = model
    target: nn.Module = awd
    if isinstance(awd, AWDLSTMClassifier):
        target, prefix = awd.encoder, "encoder."
        state = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
    vocab_sz = awd.encoder.embedding.num_embeddings
    if len(vocab) != vocab_sz:
        raise ValueError(f"vocab has {len(vocab)} tokens but the model's vocab_sz is {vocab_sz}")
    try:
        target.load_state_dict(state)
    except RuntimeError as error:
        raise ValueError(
            f"the pretrained weights do not fit this model; build it with the pretrained sizes "
            f"(fastai's: emb_sz=400, n_hid=1152, n_layers=3). {error}"
        ) from error
    awd.reset()
    return model
