"""`vision_learner`, `unet_learner` and `VisionLearner`: image models in one call, and prediction
on raw images.

Defaults, and why:

- learning rate: 1e-2 from scratch (BatchNorm ResNets under a one-cycle schedule train fast and
  stably there; 1e-3 leaves them far from converged after a few epochs), 2e-3 when pretrained
  (the head of a frozen pretrained body; `fine_tune` uses the same base rate);
- normalization: a `Normalize` is added to the batch transforms unless one is there already:
  the weights' statistics when they are known (ImageNet's for the registered weights), else the
  per-channel mean and std of 64 training images drawn with a fixed seed. Data statistics work
  for any number of channels and any kind of image (grey scans, satellite bands), where
  ImageNet's fit RGB photographs only;
- loss: the one the target block names (cross-entropy for categories, BCE with logits for
  multi-label, MSE for regression and points; `y_range` squashes regression outputs);
- metrics: only those passed (none by default);
- parameter groups from `lamina.models.default_split`, so `freeze`, `fine_tune` and
  discriminative learning rates work; a pretrained model starts frozen (only the head, and
  normalization layers, train), as `fine_tune` expects;
- memory format: on the CPU a `ChannelsLast` callback trains convolutional models in the
  channels-last format (a ResNet-18 step is faster so) and gives the model back contiguous
  after each fit, so `learn.model.state_dict()` saves as usual; `channels_last=False` turns it
  off.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from lamina.core.device import to_device
from lamina.core.modules import eval_mode
from lamina.data.inference import InferencePipeline
from lamina.data.loaders import Loaders
from lamina.data.seeded_order import seeded
from lamina.models import DynamicUnet, create_body, create_vision_model, default_split
from lamina.models.timm_body import timm_model_name, timm_record
from lamina.train.learner import Learner
from lamina.train.loss_check import activation_for, decodes_for, default_loss_for
from lamina.train.metric_base import Metrics
from lamina.train.model_app import loss_entry
from lamina.vision.transforms.normalize import Normalize
from lamina.vision.weights import Stats, complete_state_dict, resolve_pretrained

if TYPE_CHECKING:
    from matplotlib.figure import Figure

LR_SCRATCH = 1e-2
LR_PRETRAINED = 2e-3
_STATS_ITEMS = 64  # training images measured for the data's normalization statistics


class VisionLearner(Learner):
    """A `Learner` for images that predicts on raw inputs (paths, PIL images, arrays).

    Prediction runs the validation transforms of the data it was trained on (rebuilt once from
    `dls.export_config()`), the model in eval mode without gradients, and the loss's activation
    and decoding.
    """

    export_unavailable: str | None = None  # why `export` cannot rebuild this model, if it cannot
    _pipeline: tuple[Any, InferencePipeline] | None = None

    def inference_pipeline(self) -> InferencePipeline:
        """The preprocessing used by `predict`: raw input -> normalized batch on the device."""
        given = getattr(self.dls, "pipeline", None)  # loaded learners carry theirs
        if isinstance(given, InferencePipeline):
            return given
        if self._pipeline is None or self._pipeline[0] is not self.dls:
            pipeline = InferencePipeline.from_config(self.dls.export_config(), self.dls.device)
            self._pipeline = (self.dls, pipeline)
        return self._pipeline[1]

    @torch.no_grad()
    def _raw_outputs(self, items: Sequence[Any]) -> torch.Tensor:
        xb = self.inference_pipeline().batch(items)
        model = self.model
        device = xb[0].device
        if next(model.parameters(), torch.empty(0, device=device)).device != device:
            model.to(device)
        with eval_mode(model):
            return model(*xb)

    def _decode(self, out: torch.Tensor) -> tuple[list[Any], torch.Tensor, torch.Tensor]:
        loss = self.loss_func
        act = activation_for(loss) if loss is not None else None
        decodes = decodes_for(loss) if loss is not None else None
        probs = act(out) if act is not None else out
        if decodes is not None:
            decoded = decodes(out)
        else:  # a loss of the user's with an activation but no `decodes`: classes by argmax
            decoded = probs.argmax(dim=-1) if act is not None and out.ndim == 2 else probs
        pipeline = self.inference_pipeline()
        kinds = pipeline.kinds
        kind = kinds[pipeline.n_inp] if len(kinds) > pipeline.n_inp else None
        decoded, probs = decoded.cpu(), probs.float().cpu()
        labels = [_label(pipeline, kind, value) for value in decoded]
        return labels, decoded, probs

    def predict(self, item: Any) -> tuple[Any, torch.Tensor, torch.Tensor]:
        """Predict one image given as a path, a PIL image or a NumPy array (H, W[, C]).

        Returns `(decoded, value, probabilities)`: for a category, `(label, index, probs
        (n_classes,))`; multi-label, `(list of labels, booleans (n_classes,), probs)`;
        regression, `(float or list of floats, values, values)`; points, `(points (N, 2) in
        [-1, 1] of the resized image, the same, flat values)`; a mask, `(mask (H, W), the same,
        probs (n_classes, H, W))`.

        Example:
            >>> label, index, probs = learn.predict("digits/3/0003.png")
        """
        labels, decoded, probs = self._decode(self._raw_outputs([item]))
        return labels[0], decoded[0], probs[0]

    def predict_batch(
        self, items: Sequence[Any], bs: int = 64
    ) -> tuple[list[Any], torch.Tensor, torch.Tensor]:
        """Predict many images, `bs` at a time: `(decoded per item, values (N, ...), probs
        (N, ...))`, each as `predict` gives for one."""
        if not (isinstance(bs, int) and bs >= 1):
            raise ValueError(f"bs must be a positive integer, got {bs!r}")
        items = list(items)
        if not items:
            raise ValueError("predict_batch needs at least one item")
        outs = [self._raw_outputs(items[i : i + bs]) for i in range(0, len(items), bs)]
        return self._decode(torch.cat(outs))

    def predict_folder(
        self, path: str | Path, bs: int = 64, recurse: bool = True
    ) -> tuple[list[Path], list[Any], torch.Tensor]:
        """Predict every image file under `path`: `(files, decoded per file, probs (N, ...))`."""
        from lamina.vision.data.files import get_image_files

        files = get_image_files(path, recurse=recurse)
        if not files:
            raise ValueError(f"no image files found under {str(path)!r}")
        labels, _, probs = self.predict_batch(files, bs=bs)
        return files, labels, probs

    def tta(
        self, dl: Any = None, n: int = 4, beta: float | None = 0.25, use_max: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Test-time augmentation over `dl` (default: validation): see `lamina.vision.tta.tta`."""
        from lamina.vision.tta import tta

        return tta(self, dl=dl, n=n, beta=beta, use_max=use_max)

    def show_results(
        self,
        max_n: int = 9,
        ds_idx: int = 1,
        ncols: int = 3,
        dl: Any = None,
        shuffle: bool = True,
        seed: int = 0,
        nrows: int | None = None,
        figsize: tuple[float, float] | None = None,
    ) -> Figure:
        """Inputs with targets and predictions, drawn across the set with `seed` (`shuffle`):
        see `lamina.vision.show.show_results`."""
        from lamina.vision.show import show_results

        return show_results(
            self, max_n=max_n, ds_idx=ds_idx, ncols=ncols, dl=dl, figsize=figsize,
            shuffle=shuffle, seed=seed, nrows=nrows,
        )  # fmt: skip

    def export(self, path: str | Path = "export.lamina") -> Path:
        """Write weights and the inference recipe to one safe file for `lamina.load_learner`."""
        if self.export_spec is None and self.export_unavailable:
            raise ValueError(self.export_unavailable)
        return super().export(path)


def _label(pipeline: InferencePipeline, kind: str | None, value: torch.Tensor) -> Any:
    if kind in ("category", "multicategory"):
        return pipeline.decode_target(value)
    if kind == "regression":
        values = value.flatten().tolist()
        return values[0] if len(values) == 1 else values
    if kind == "points":
        return value.reshape(-1, 2)
    return value


# ----------------------------------------------------------------------------- shared set-up
def _check_image_dls(dls: Any) -> None:
    kinds = getattr(dls, "kinds", None)
    if not kinds or kinds[0] != "image":
        raise ValueError(
            f"dls must hold images as their first element (e.g. ImageDataLoaders), got kinds "
            f"{kinds!r}"
        )


def _image_channels(dls: Any) -> int:
    """Input channels from the image block's mode, else from one batch."""
    blocks = getattr(getattr(dls, "datasets", None), "blocks", None)
    mode = getattr(blocks[0], "mode", None) if blocks else None
    if mode in ("RGB", "L"):
        return 3 if mode == "RGB" else 1
    return int(_sample_images(dls).shape[1])


def _sample_images(dls: Any) -> torch.Tensor:
    """Up to 64 training images, drawn with a fixed seed, through the validation-mode batch
    transforms: (B, C, H, W)."""
    dataset = getattr(dls.train, "dataset", None)
    if dataset is None:
        return dls.one_batch()[0]
    order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(0))
    # Random item transforms draw from fixed seeds too, so the statistics (and a learner rebuilt
    # in another process to resume training) are the same each time.
    with seeded(0, fork=True):
        samples = [dataset[int(i)] for i in order[:_STATS_ITEMS]]
    batch = to_device(tuple(torch.utils.data.default_collate(samples)), dls.device)
    return dls.train.batch_tfms(batch, dls.kinds, 1)[0]


def _stats_for(stats: Stats, n_in: int) -> Stats:
    """Weights' RGB statistics for `n_in` channels, as `adapt_input_channels` adapts kernels."""
    mean, std = stats
    if n_in == len(mean):
        return stats
    if n_in == 1:
        return (sum(mean) / len(mean),), (sum(std) / len(std),)
    return tuple(mean[i % len(mean)] for i in range(n_in)), tuple(
        std[i % len(std)] for i in range(n_in)
    )


def _add_normalize(dls: Any, stats: Stats | None, n_in: int) -> None:
    """Add a `Normalize` to every batch pipeline of `dls`, unless one is there already."""
    pipelines = {id(p): p for p in (getattr(dls, "batch_tfms", None),
                                    *(getattr(dl, "batch_tfms", None) for dl in dls.loaders))
                 if p is not None}  # fmt: skip
    if not pipelines or any(isinstance(tfm, Normalize) for p in pipelines.values()
                            for tfm in p.tfms):  # fmt: skip
        return
    if stats is None:
        images = _sample_images(dls).float()  # (B, C, H, W)
        mean = images.mean(dim=(0, 2, 3))
        std = images.std(dim=(0, 2, 3)).clamp_min(1e-3)
        stats = (
            tuple(round(v, 4) for v in mean.tolist()),
            tuple(round(v, 4) for v in std.tolist()),
        )
    norm = Normalize(*_stats_for(stats, n_in))
    for pipeline in pipelines.values():
        pipeline.tfms = sorted([*pipeline.tfms, norm], key=lambda tfm: tfm.order)


def _check_common(arch: Any, n_out: int | None, n_in: int | None, lr: float | None) -> None:
    if not isinstance(arch, (str, nn.Module)):
        raise ValueError(f"arch must be a registered model name or an nn.Module, got {arch!r}")
    for name, value in (("n_out", n_out), ("n_in", n_in)):
        if value is not None and not (isinstance(value, int) and value >= 1):
            raise ValueError(f"{name} must be a positive integer or None, got {value!r}")
    if lr is not None and not (isinstance(lr, (int, float)) and lr > 0):
        raise ValueError(f"lr must be a positive number or None, got {lr!r}")


def _prepare(
    dls: Any, arch: Any, pretrained: Any, n_in: int | None, normalize: bool, cut: Any
) -> tuple[Any, int]:
    """Resolve the weights, the input channels and the normalization: `(weights, n_in)`."""
    _check_image_dls(dls)
    weights, stats = resolve_pretrained(arch, pretrained)
    if isinstance(weights, dict) and isinstance(arch, str):
        weights = complete_state_dict(arch, weights, cut)
    n_in = _image_channels(dls) if n_in is None else n_in
    if normalize:
        _add_normalize(dls, stats, n_in)
    return weights, n_in


def _unavailable(arch: Any, cut: Any) -> str | None:
    if isinstance(arch, nn.Module):
        return (
            f"export needs a registered architecture name, but this learner was built on a "
            f"{type(arch).__name__} module; pass arch as a name (e.g. 'resnet18'), or use "
            "learn.save(name) and rebuild the module in code before learn.load(name)"
        )
    if cut is not None and not isinstance(cut, int):
        return "export cannot record a callable cut; pass cut as an int index (or None)"
    return None


def _finish(
    learn: VisionLearner, arch: Any, cut: Any, weights: Any, spec: dict[str, Any]
) -> VisionLearner:
    learn.export_unavailable = _unavailable(arch, cut)
    if learn.export_unavailable is None:
        data = learn.dls.export_config()
        learn.export_spec = {**spec, "data": data, "loss": loss_entry(learn.loss_func)}
    if weights is not False:
        learn.freeze()
    return learn


def _default_lr(lr: float | None, weights: Any) -> float:
    if lr is not None:
        return float(lr)
    return LR_SCRATCH if weights is False else LR_PRETRAINED


# ----------------------------------------------------------------------------- factories
def vision_learner(
    dls: Loaders,
    arch: str | nn.Module,
    pretrained: bool | str | Path | dict[str, torch.Tensor] = True,
    n_out: int | None = None,
    normalize: bool = True,
    loss_func: Callable | None = None,
    metrics: Metrics = None,
    lr: float | None = None,
    n_in: int | None = None,
    cut: int | Callable[[nn.Module], nn.Module] | None = None,
    y_range: tuple[float, float] | None = None,
    concat_pool: bool = True,
    hidden: int | None = 512,
    dropout: float = 0.5,
    channels_last: bool | None = None,
    **learner_kwargs: Any,
) -> VisionLearner:
    """A `VisionLearner`: the body of `arch` with a new head sized for `dls`.

    Args:
        dls: image data, e.g. from `ImageDataLoaders`; its target decides the loss and `n_out`.
        arch: a registered model name (`"resnet18"`, `"xresnet50"`, `"simple_cnn"`, see
            `lamina.models.model_names()`), any timm architecture as `"timm/<name>"` (or
            `"timm:<name>"`; timm must be installed, see `lamina.models.timm_body`), or an
            `nn.Module` (which cannot be exported, having no name to rebuild it by).
        pretrained: True downloads the registered weights (see `lamina.vision.weights`; for
            timm architectures, timm's own through its hub); a `.safetensors`/`.pth` path or a
            state dict loads those; False trains from scratch.
        n_out: outputs (default `dls.c`: the number of classes, or of regression values).
        normalize: add a `Normalize` to the data's batch transforms if it has none (module doc).
        lr: default learning rate (default 1e-2 from scratch, 2e-3 when pretrained).
        n_in: input channels (default: the images' channels; `img_mode="L"` gives 1).
        cut: where to cut `arch` into a body (see `create_body`).
        y_range: (low, high) to squash regression outputs into.
        concat_pool, hidden, dropout: the head's pooling, hidden width and dropout
            (see `create_head`).
        channels_last: train in the channels-last memory format (`ChannelsLast`); None: on
            the CPU when the model has 2-d convolutions.
        learner_kwargs: passed to `Learner` (opt_func, wd, cbs, path, ...).

    Example:
        >>> dls = ImageDataLoaders.from_folder(path, valid_pct=0.2, seed=42, item_tfms=Resize(32))
        >>> learn = vision_learner(dls, "resnet18", pretrained=False, metrics=accuracy)
        >>> learn.fit_one_cycle(5)
        >>> label, index, probs = learn.predict(path / "3" / "0003.png")
    """
    _check_common(arch, n_out, n_in, lr)
    weights, n_in = _prepare(dls, arch, pretrained, n_in, normalize, cut)
    n_out = n_out if n_out is not None else dls.c
    if n_out is None:
        raise ValueError("cannot tell the number of outputs from dls (dls.c is None): pass n_out=")
    head = {"concat_pool": concat_pool, "hidden": hidden, "dropout": dropout,
            "y_range": None if y_range is None else [float(v) for v in y_range]}  # fmt: skip
    model = create_vision_model(arch, n_out, pretrained=weights, n_in=n_in, cut=cut, **head)
    loss_func = loss_func if loss_func is not None else default_loss_for(dls)
    learn = VisionLearner(dls, model, loss_func=loss_func, metrics=metrics,
                          lr=_default_lr(lr, weights), splitter=default_split,
                          **learner_kwargs)  # fmt: skip
    _add_channels_last(learn, channels_last)
    spec = {"app": "vision", "model": "classifier", "arch": _arch_name(arch), "arch_kwargs": {},
            "n_out": n_out, "n_in": n_in, "cut": cut, "head": head,
            **timm_record(model.body)}  # fmt: skip
    return _finish(learn, arch, cut, weights, spec)


def _add_channels_last(learn: Learner, wanted: bool | None) -> None:
    """Add a `ChannelsLast` callback when asked, or by default on the CPU for conv models."""
    from lamina.train.callbacks.channels_last import ChannelsLast, has_conv2d

    if any(isinstance(cb, ChannelsLast) for cb in learn.cbs):
        return
    if wanted is None:
        device = torch.device(getattr(learn.dls, "device", None) or "cpu")
        wanted = device.type == "cpu" and has_conv2d(learn.model)
    if wanted:
        learn.add_cbs([ChannelsLast()])


def _arch_name(arch: Any) -> str | None:
    return arch if isinstance(arch, str) else None


def _image_size(dls: Any) -> list[int]:
    dl = dls.valid if dls.valid is not None else dls.train
    return [int(size) for size in dl.one_batch()[0].shape[-2:]]


def unet_learner(
    dls: Loaders,
    arch: str | nn.Module,
    pretrained: bool | str | Path | dict[str, torch.Tensor] = True,
    n_out: int | None = None,
    normalize: bool = True,
    loss_func: Callable | None = None,
    metrics: Metrics = None,
    lr: float | None = None,
    n_in: int | None = None,
    cut: int | Callable[[nn.Module], nn.Module] | None = None,
    y_range: tuple[float, float] | None = None,
    blur: bool = False,
    self_attention: bool = False,
    last_cross: bool = True,
    **learner_kwargs: Any,
) -> VisionLearner:
    """A `VisionLearner` for segmentation: a `DynamicUnet` on the body of `arch`.

    `n_out` defaults to the number of mask codes (`dls.c`); the loss to cross-entropy over the
    class axis (axis 1); parameter groups are [encoder, decoder]. Other arguments as for
    `vision_learner`; `blur`, `self_attention`, `last_cross` as for `DynamicUnet`.

    Example:
        >>> dls = SegmentationDataLoaders.from_label_func(path, fnames, label_func, codes=codes)
        >>> learn = unet_learner(dls, "resnet18", pretrained=False)
        >>> learn.fit_one_cycle(3)
    """
    _check_common(arch, n_out, n_in, lr)
    if timm_model_name(arch) is not None:
        raise ValueError(
            f"unet_learner does not take timm architectures ({arch!r}): a timm body is one "
            "module, not the sequence of stages whose outputs the U-Net joins; use a lamina "
            "architecture such as 'resnet34'"
        )
    weights, n_in = _prepare(dls, arch, pretrained, n_in, normalize, cut)
    n_out = n_out if n_out is not None else dls.c
    if n_out is None:
        raise ValueError("cannot tell the number of classes from dls (no mask codes): pass n_out=")
    unet: dict[str, Any] = {
        "img_size": _image_size(dls), "blur": blur, "self_attention": self_attention,
        "y_range": None if y_range is None else [float(v) for v in y_range],
        "last_cross": last_cross,
    }  # fmt: skip
    model = DynamicUnet(create_body(arch, weights, n_in, cut), n_out, **unet)
    loss_func = loss_func if loss_func is not None else default_loss_for(dls)
    learn = VisionLearner(dls, model, loss_func=loss_func, metrics=metrics,
                          lr=_default_lr(lr, weights), splitter=default_split,
                          **learner_kwargs)  # fmt: skip
    spec = {"app": "vision", "model": "unet", "arch": _arch_name(arch), "arch_kwargs": {},
            "n_out": n_out, "n_in": n_in, "cut": cut, "unet": unet}  # fmt: skip
    return _finish(learn, arch, cut, weights, spec)
