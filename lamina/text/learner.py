"""Text learners: `language_model_learner` and `text_classifier_learner` (the ULMFiT recipe).

Train or fine-tune a language model on your documents, save its encoder, load that encoder into
a classifier, then `fine_tune` the classifier (the head on the frozen encoder, then every layer;
`gradual=True` unfreezes one layer group at a time, as ULMFiT does). Both learners predict from
raw text (`predict`), export to one safe file, and come back with `load_learner`.

Example:
    >>> dls_lm = TextDataLoaders.from_df(df, text_col="text", is_lm=True, seed=0)
    >>> lm = language_model_learner(dls_lm, "awd_lstm", metrics=[accuracy, perplexity])
    >>> lm.fit_one_cycle(1, 2e-2)
    >>> lm.save_encoder("finetuned")
    >>> dls = TextDataLoaders.from_df(df, text_col="text", label_col="label",
    ...                               text_vocab=dls_lm.vocab, seed=0)
    >>> clas = text_classifier_learner(dls, "awd_lstm", drop_mult=0.5, metrics=accuracy)
    >>> clas.load_encoder("finetuned")
    >>> clas.fine_tune(4)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from lamina.core.files import load_tensors_json, save_tensors_json
from lamina.core.modules import eval_mode, unwrap_model
from lamina.core.registry import register
from lamina.data.inference import InferencePipeline
from lamina.data.loaders import Loaders, target_labels
from lamina.models import build_model, load_weights
from lamina.models.awd_lstm import awd_lstm_clas_split, awd_lstm_lm_split
from lamina.models.text_transformer import transformer_clas_split, transformer_lm_split
from lamina.text.loaders import token_vocab
from lamina.text.regularizer import RNNRegularizer
from lamina.text.rules import UNK
from lamina.train.callback import Callback
from lamina.train.learner import Learner
from lamina.train.loss_check import default_loss_for
from lamina.train.model_app import loss_entry

ARCHS = ("awd_lstm", "transformer")
SPLITS = {
    "awd_lstm_lm": awd_lstm_lm_split,
    "awd_lstm_clas": awd_lstm_clas_split,
    "transformer_lm": transformer_lm_split,
    "transformer_clas": transformer_clas_split,
}
ENCODER_FORMAT = "lamina-encoder"
TEXT_MOMS = (0.8, 0.7, 0.8)


class ModelResetter(Callback):
    """Forget a stateful model's hidden state when training, validation or a fit begins."""

    order = -5

    def before_train(self) -> None:
        reset_state(self.learn.model)

    def before_validate(self) -> None:
        reset_state(self.learn.model)

    def after_fit(self) -> None:
        reset_state(self.learn.model)


class TextLearner(Learner):
    """A `Learner` for text: prediction from raw documents, and the encoder saved or loaded on
    its own (a language model's, for its classifier).

    One-cycle momentum defaults to (0.8, 0.7, 0.8), the ULMFiT setting fastai's text learners
    use (recurrent models train less stably at the 0.95 that suits convolutional ones).
    """

    is_lm: bool = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("moms", TEXT_MOMS)
        super().__init__(*args, **kwargs)

    # ----------------------------------------------------------------------------- encoder
    def _encoder(self) -> nn.Module:
        model = unwrap_model(self.model)
        encoder = getattr(model, "encoder", None)
        if not isinstance(encoder, nn.Module):
            raise ValueError(f"{type(model).__name__} has no `encoder` to save or load")
        return encoder

    def save_encoder(self, name: str) -> Path:
        """Write the encoder's weights to `path/model_dir/name.safetensors` (safe, atomic)."""
        path = self.path / self.model_dir / f"{name}.safetensors"
        info = {"format": ENCODER_FORMAT, "vocab": token_vocab(self.dls)}
        return save_tensors_json(path, dict(self._encoder().state_dict()), info)

    def load_encoder(self, name: str | Path) -> TextLearner:
        """Load an encoder written by `save_encoder` (a name under `path/model_dir`, or a file).

        The vocabularies must match (build the classifier's loaders with `text_vocab=` the
        language model's vocabulary); a mismatch is an error saying so. The learner is left
        frozen (only the last layer group trains) until `unfreeze()` or `fine_tune`.
        """
        path = Path(name)
        if not path.suffix:
            path = self.path / self.model_dir / f"{name}.safetensors"
        tensors, info = load_tensors_json(path)
        if info.get("format") != ENCODER_FORMAT:
            raise ValueError(f"{path} is not an encoder written by save_encoder")
        if info.get("vocab") != token_vocab(self.dls):
            raise ValueError(
                f"{path} was trained on another vocabulary ({len(info.get('vocab') or [])} "
                f"tokens, these loaders have {len(token_vocab(self.dls))}): build the loaders "
                "with text_vocab= the language model's dls.vocab"
            )
        try:
            load_weights(self._encoder(), tensors)
        except ValueError as error:
            raise ValueError(f"{path}: the encoder does not fit this model: {error}") from None
        self.freeze()
        return self

    # ----------------------------------------------------------------------------- prediction
    def inference_pipeline(self) -> InferencePipeline:
        """Raw documents -> token-id batches, as the validation set was prepared."""
        config = self.dls.export_config()
        return InferencePipeline.from_config(config, self.dls.device)

    def _ids(self, texts: Sequence[str]) -> torch.Tensor:
        (xb,) = self.inference_pipeline().batch(list(texts))
        return xb

    @torch.no_grad()
    def predict(self, text: str, n_words: int = 20, temperature: float = 1.0) -> Any:
        """A classifier: `(label, index, probabilities)` of `text`. A language model: `text`
        continued by `n_words` tokens drawn at `temperature` (0: always the likeliest)."""
        if not isinstance(text, str):
            raise ValueError(f"text must be a str, got {type(text).__name__}")
        if self.is_lm:
            return self._generate(text, n_words, temperature)
        ids = self._ids([text])
        _warn_if_unknown(ids, self.dls)
        with eval_mode(self.model) as model:
            reset_state(model)
            probs = torch.softmax(model(ids).float(), dim=-1)[0].cpu()
        index = int(probs.argmax())
        return target_labels(self.dls)[index], torch.tensor(index), probs

    def _generate(self, text: str, n_words: int, temperature: float) -> str:
        if not (isinstance(n_words, int) and n_words >= 0):
            raise ValueError(f"n_words must be a non-negative integer, got {n_words!r}")
        if temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {temperature!r}")
        pipeline = self.inference_pipeline()
        ids = self._ids([text])[0].tolist()
        vocab = token_vocab(self.dls)
        with eval_mode(self.model) as model:
            reset_state(model)
            logits = model(torch.tensor([ids], device=self.dls.device))[0, -1]
            for _ in range(n_words):
                next_id = _draw(logits.float(), temperature)
                ids.append(next_id)
                logits = model(torch.tensor([[next_id]], device=self.dls.device))[0, -1]
        tokens = [vocab[i] for i in ids]
        return pipeline.type_tfms[0][0].decode(tokens, "text")


def reset_state(model: nn.Module) -> None:
    """Forget the hidden state of a stateful model (one with `reset()`), through any wrapper."""
    reset = getattr(unwrap_model(model), "reset", None)
    if callable(reset):
        reset()


def _draw(logits: torch.Tensor, temperature: float) -> int:
    if temperature == 0:
        return int(logits.argmax())
    probs = torch.softmax(logits / temperature, dim=-1)
    return int(torch.multinomial(probs, 1))


def _warn_if_unknown(ids: torch.Tensor, dls: Loaders) -> None:
    import warnings

    vocab = token_vocab(dls)
    unknown = vocab.index(UNK)
    special = {vocab.index(token) for token in ("xxbos", "xxpad") if token in vocab}
    words = [i for i in ids[0].tolist() if i not in special]
    if words and all(i == unknown for i in words):
        warnings.warn(
            f"every one of the {len(words)} words of this text is unknown to the model's "
            "vocabulary: the prediction rests on no word it knows",
            UserWarning,
            stacklevel=3,
        )


class TextClassifierLearner(TextLearner):
    """A text classifier; `fine_tune` trains the head on a frozen encoder, then every layer."""

    def fine_tune(
        self,
        epochs: int,
        base_lr: float = 2e-2,
        freeze_epochs: int = 1,
        lr_mult: float = 1.0,
        pct_start: float = 0.3,
        div: float = 25.0,
        wd: float | None = None,
        cbs: Any = None,
        moms: tuple[float, float, float] | None = None,
        gradual: bool = False,
    ) -> None:
        """ULMFiT's classifier fine-tuning, each stage one cycle: the head alone on the frozen
        encoder for `freeze_epochs` at `base_lr`; with `gradual=True`, then one more layer
        group at a time (one epoch each, at `base_lr / 2`, then `/ 4`); then every layer for
        `epochs` epochs at `base_lr / 10`. Where a stage trains several groups, the bottom one
        learns `lr_mult` times slower than the top, the rates spread geometrically between.

        The defaults are measured, not the paper's: on SST-2, with an encoder from a language
        model trained on the training text alone, they reached 0.861, where ULMFiT's published
        schedule (`gradual=True, lr_mult=2.6**4` with the last stage at 1e-3) reached 0.752
        (`benchmarks/text_sst2.py`).
        Gradual unfreezing and discriminative rates protect what an encoder learned elsewhere
        (the WikiText-103 weights); one learned from the task's own text needs retraining
        instead. `pct_start`, `div`, `wd` and `moms` (default the learner's) go to every cycle.
        """
        n_groups = len(self.splitter(unwrap_model(self.model)))
        lr = base_lr
        common = {"pct_start": pct_start, "div": div, "moms": moms, "wd": wd, "cbs": cbs}
        self.freeze()
        self.fit_one_cycle(freeze_epochs, slice(lr), **common)
        if gradual:
            for depth in (2, 3)[: max(0, n_groups - 2)]:
                lr /= 2
                self.freeze_to(-depth)
                self.fit_one_cycle(1, slice(lr / lr_mult, lr), **common)
        self.unfreeze()
        self.fit_one_cycle(epochs, slice(base_lr / 10 / lr_mult, base_lr / 10), **common)


class LanguageModelLearner(TextLearner):
    """A language model; `predict(text, n_words, temperature)` continues `text`."""

    is_lm = True


def _model_args(
    arch: str, dls: Loaders, config: dict[str, Any] | None, drop_mult: float, is_lm: bool
) -> dict[str, Any]:
    if arch not in ARCHS:
        raise ValueError(f"arch must be one of {ARCHS}, got {arch!r}")
    args: dict[str, Any] = {"vocab_sz": len(token_vocab(dls)), **dict(config or {})}
    if arch == "awd_lstm":
        args["drop_mult"] = drop_mult
    if not is_lm:
        if dls.c is None:
            raise ValueError("the loaders name no classes (dls.c is None): is there a label?")
        args["n_classes"] = dls.c
    return args


def _learner(
    cls: type[TextLearner], dls: Loaders, name: str, args: dict[str, Any], kwargs: dict
) -> TextLearner:
    model = build_model(name, **args)
    kwargs.setdefault("loss_func", default_loss_for(dls))
    kwargs.setdefault("splitter", SPLITS[name])
    alpha, beta = kwargs.pop("alpha", 2.0), kwargs.pop("beta", 1.0)
    cbs = [*_listify(kwargs.pop("cbs", None)), *_text_callbacks(name, alpha, beta)]
    learn = cls(dls, model, cbs=cbs, **kwargs)
    learn.export_spec = {
        "app": "text",
        "model_name": name,
        "model_args": args,
        "data": dls.export_config(),
        "loss": loss_entry(learn.loss_func),
    }
    return learn


def _text_callbacks(model_name: str, alpha: float = 2.0, beta: float = 1.0) -> list[Callback]:
    """What every text learner runs: hidden-state resets, and AR/TAR for AWD-LSTMs."""
    if str(model_name).startswith("awd_lstm"):
        return [ModelResetter(), RNNRegularizer(alpha, beta)]
    return [ModelResetter()]


def _listify(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def language_model_learner(
    dls: Loaders,
    arch: str = "awd_lstm",
    config: dict[str, Any] | None = None,
    drop_mult: float = 1.0,
    pretrained: bool = False,
    **kwargs: Any,
) -> LanguageModelLearner:
    """A language model on `dls` (made with `is_lm=True`).

    Args:
        arch: "awd_lstm" or "transformer".
        config: overrides of the architecture's sizes and settings, e.g.
            `dict(emb_sz=256, n_hid=512, n_layers=2)`.
        drop_mult: multiplies every dropout of the AWD-LSTM.
        pretrained: start from the published WikiText-103 AWD-LSTM (downloaded once; needs
            the default sizes), matched to this vocabulary, and frozen but for the embedding
            and decoder (new words first; `unfreeze()` then trains the rest), as in fastai.
        alpha, beta: AR and TAR weights of the AWD-LSTM (see `RNNRegularizer`); 0 turns one off.
        kwargs: go to `Learner` (metrics, lr, wd, cbs, moms, ...).
    """
    args = _model_args(arch, dls, config, drop_mult, is_lm=True)
    learn = _learner(LanguageModelLearner, dls, f"{arch}_lm", args, kwargs)
    if pretrained:
        _load_pretrained(learn, arch)
        learn.freeze()
    return learn  # type: ignore[return-value]


def text_classifier_learner(
    dls: Loaders,
    arch: str = "awd_lstm",
    config: dict[str, Any] | None = None,
    drop_mult: float = 0.5,
    pretrained: bool = False,
    **kwargs: Any,
) -> TextClassifierLearner:
    """A text classifier on `dls` (made with a label).

    Load a fine-tuned language model's encoder with `learn.load_encoder(name)` (ULMFiT), or
    set `pretrained=True` for the published WikiText-103 encoder; either leaves the encoder
    frozen, the head to train first (as in fastai). Without one, every layer trains: a frozen
    random encoder would only hold the head back. `config`, `drop_mult` and
    `kwargs` as in `language_model_learner`; `config` may also set the head (`lin_ftrs`, `ps`).
    """
    args = _model_args(arch, dls, config, drop_mult, is_lm=False)
    learn = _learner(TextClassifierLearner, dls, f"{arch}_clas", args, kwargs)
    if pretrained:
        _load_pretrained(learn, arch)
        learn.freeze()
    return learn  # type: ignore[return-value]


def _load_pretrained(learn: TextLearner, arch: str) -> None:
    if arch != "awd_lstm":
        raise ValueError(f"pretrained weights exist for 'awd_lstm' only, not {arch!r}")
    from lamina.text.pretrained import load_pretrained

    load_pretrained(unwrap_model(learn.model), token_vocab(learn.dls))


@register("app", "text")
def build_text_learner(
    spec: dict[str, Any], tensors: dict[str, torch.Tensor], device: torch.device | None
) -> TextLearner:
    """Rebuild an exported text learner (for `lamina.load_learner`)."""
    from lamina.train.model_app import build_model_learner

    name = spec.get("model_name", "")
    cls = LanguageModelLearner if str(name).endswith("_lm") else TextClassifierLearner
    learn = build_model_learner(spec, tensors, device, learner_class=cls)
    if name in SPLITS:
        # Each split takes its own model class, narrower than the Learner's nn.Module.
        learn.splitter = SPLITS[name]  # type: ignore[assignment]
    learn.add_cbs(_text_callbacks(name))
    return learn  # type: ignore[return-value]
