"""vision_learner, unet_learner and VisionLearner: defaults, normalization, prediction, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

import lamina.datasets
from lamina import BCEWithLogitsFlat, CrossEntropyFlat, MSELossFlat, accuracy
from lamina.core.seed import set_seed
from lamina.models import SigmoidRange, create_vision_model
from lamina.vision import (
    DataBlock,
    ImageBlock,
    ImageDataLoaders,
    MultiCategoryBlock,
    RandomSplitter,
    RegressionBlock,
    Resize,
    SegmentationDataLoaders,
    get_image_files,
    parent_label,
    unet_learner,
    vision_learner,
)
from lamina.vision.learner import LR_PRETRAINED, LR_SCRATCH
from lamina.vision.transforms.normalize import Normalize, imagenet_stats
from tests.vision.digit_folders import write_digit_folders


@pytest.fixture(scope="module")
def digits_small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """40 of scikit-learn's digits per class (8x8 grey PNGs) in class folders, named as
    `lamina.datasets.digits` names them."""
    return write_digit_folders(tmp_path_factory.mktemp("digits"), per_class=40)


def digits_dls(path: Path, **kwargs) -> object:
    kwargs.setdefault("item_tfms", Resize(16))
    return ImageDataLoaders.from_folder(path, valid_pct=0.25, seed=0, bs=32, device="cpu", **kwargs)


def trained(path: Path, epochs: int = 4, **kwargs) -> object:
    set_seed(0)
    learn = vision_learner(digits_dls(path), "simple_cnn", pretrained=False, metrics=accuracy,
                           **kwargs)  # fmt: skip
    learn.progress.silent = True
    learn.fit_one_cycle(epochs)
    return learn


@pytest.fixture(scope="module")
def learn(digits_small: Path) -> object:
    return trained(digits_small)


def normalizers(dls) -> list[Normalize]:
    return [tfm for tfm in dls.train.batch_tfms.tfms if isinstance(tfm, Normalize)]


# ----------------------------------------------------------------------------- training
def test_trains_from_scratch_with_the_defaults(learn) -> None:
    assert learn.lr == LR_SCRATCH
    assert isinstance(learn.loss_func, CrossEntropyFlat)
    assert learn.validate()[1] >= 0.9
    assert len(learn.opt.param_groups) == 3  # body halves and head, for fine_tune
    assert all(p.requires_grad for p in learn.model.parameters())  # not pretrained: not frozen


def test_trains_channels_last_on_the_cpu_and_gives_a_contiguous_model(learn, tmp_path) -> None:
    from safetensors.torch import save_file

    from lamina.train.callbacks import ChannelsLast

    assert isinstance(learn.channels_last, ChannelsLast)  # the default on the CPU
    assert all(t.is_contiguous() for t in learn.model.state_dict().values())
    save_file(learn.model.state_dict(), str(tmp_path / "weights.safetensors"))
    plain = vision_learner(learn.dls, "simple_cnn", pretrained=False, channels_last=False)
    assert not any(isinstance(cb, ChannelsLast) for cb in plain.cbs)


def test_from_scratch_normalizes_with_the_data_stats_once(digits_small: Path) -> None:
    dls = digits_dls(digits_small)
    vision_learner(dls, "simple_cnn", pretrained=False)
    vision_learner(dls, "simple_cnn", pretrained=False)  # a second learner adds no second one
    (norm,) = normalizers(dls)
    assert dls.valid.batch_tfms is dls.train.batch_tfms
    xb, _ = dls.valid.one_batch()
    # Grey digits read as RGB: equal channels, centred and scaled by the stats of 64 images.
    assert norm.mean[0] == norm.mean[1] == norm.mean[2]
    assert 0.1 < norm.mean[0] < 0.5
    assert abs(float(xb.mean())) < 0.3
    assert 0.7 < float(xb.std()) < 1.3


def test_existing_normalize_is_kept_and_normalize_false_adds_none(digits_small: Path) -> None:
    dls = digits_dls(digits_small, batch_tfms=Normalize.from_stats(*imagenet_stats))
    vision_learner(dls, "simple_cnn", pretrained=False)
    assert [n.mean for n in normalizers(dls)] == [imagenet_stats[0]]
    plain = digits_dls(digits_small)
    vision_learner(plain, "simple_cnn", pretrained=False, normalize=False)
    assert normalizers(plain) == []


def test_grey_images_give_a_one_channel_model(digits_small: Path) -> None:
    dls = digits_dls(digits_small, img_mode="L")
    learn = vision_learner(dls, "resnet18", pretrained=False)
    assert learn.model.body[0].in_channels == 1
    (norm,) = normalizers(dls)
    assert len(norm.mean) == 1
    xb, _ = dls.one_batch()
    assert learn.model.eval()(xb).shape == (32, 10)


def test_pretrained_weights_freeze_the_body_and_use_their_stats(digits_small: Path) -> None:
    source = create_vision_model("resnet18", n_out=5)
    dls = digits_dls(digits_small)
    state = {key[len("body."):]: value for key, value in source.state_dict().items()
             if key.startswith("body.")}  # fmt: skip
    learn = vision_learner(dls, "resnet18", pretrained=state, n_in=3)
    assert learn.lr == LR_PRETRAINED
    torch.testing.assert_close(learn.model.body[0].weight, source.body[0].weight)
    body = [p for p in learn.model.body.parameters() if p.ndim > 1]
    assert not any(p.requires_grad for p in body)  # frozen, except normalization layers
    assert all(p.requires_grad for p in learn.model.head.parameters())
    assert len(normalizers(dls)) == 1  # local weights: the data's own statistics


def test_multi_label_uses_bce_and_predicts_label_lists(digits_small: Path) -> None:
    def labels(path: Path) -> list[str]:
        digit = int(parent_label(path))
        return [("even" if digit % 2 == 0 else "odd"), *(["big"] if digit >= 5 else [])]

    dblock = DataBlock(
        blocks=(ImageBlock(), MultiCategoryBlock()),
        get_items=get_image_files,
        get_y=labels,
        splitter=RandomSplitter(0.25, seed=0),
        item_tfms=Resize(16),
    )
    dls = dblock.dataloaders(digits_small, bs=32, device="cpu", seed=0)
    set_seed(0)
    learn = vision_learner(dls, "simple_cnn", pretrained=False)
    learn.progress.silent = True
    learn.fit_one_cycle(4)
    assert isinstance(learn.loss_func, BCEWithLogitsFlat)
    decoded, hot, probs = learn.predict(digits_small / "8" / sorted(
        p.name for p in (digits_small / "8").iterdir())[-1])  # fmt: skip
    assert decoded == ["big", "even"]
    assert hot.dtype == torch.bool
    assert probs.shape == (3,)


def test_regression_with_y_range(digits_small: Path) -> None:
    dblock = DataBlock(
        blocks=(ImageBlock(), RegressionBlock()),
        get_items=get_image_files,
        get_y=lambda path: float(parent_label(path)),
        splitter=RandomSplitter(0.25, seed=0),
        item_tfms=Resize(16),
    )
    dls = dblock.dataloaders(digits_small, bs=32, device="cpu", seed=0)
    learn = vision_learner(dls, "simple_cnn", pretrained=False, y_range=(0.0, 9.0))
    assert isinstance(learn.loss_func, MSELossFlat)
    assert isinstance(learn.model.head[-1], SigmoidRange)
    value, values, _ = learn.predict(next((digits_small / "0").iterdir()))
    assert isinstance(value, float)
    assert 0 <= value <= 9
    assert values.shape == (1,)


# ----------------------------------------------------------------------------- prediction
def test_predict_from_a_path_a_pil_image_and_an_array_agree(learn, digits_small: Path) -> None:
    file = digits_small / "3" / sorted(p.name for p in (digits_small / "3").iterdir())[0]
    learn.model.train()
    label, index, probs = learn.predict(file)
    assert label == "3"
    assert int(index) == 3
    assert probs.shape == (10,)
    assert abs(float(probs.sum()) - 1) < 1e-5
    image = Image.open(file)
    for item in (image, np.asarray(image)):
        other = learn.predict(item)
        assert other[0] == label
        torch.testing.assert_close(other[2], probs)
    assert learn.model.training  # prediction restores the training mode


def test_predict_batch_and_folder_match_predict(learn, digits_small: Path) -> None:
    files = sorted(get_image_files(digits_small))[::37]
    labels, indices, probs = learn.predict_batch(files, bs=4)
    assert len(labels) == len(files)
    assert probs.shape == (len(files), 10)
    for file, label, row in zip(files, labels, probs, strict=True):
        one = learn.predict(file)
        assert one[0] == label
        torch.testing.assert_close(one[2], row, atol=1e-5, rtol=1e-4)
    found, folder_labels, _ = learn.predict_folder(digits_small / "7")
    assert len(found) == 40
    assert sum(label == "7" for label in folder_labels) >= 34


def test_predictions_match_get_preds_on_the_validation_set(learn) -> None:
    preds, targs = learn.get_preds()
    files = [Path(name) for name in learn.dls.valid.dataset.names]
    _, _, probs = learn.predict_batch(files)
    torch.testing.assert_close(probs, preds, atol=1e-5, rtol=1e-4)
    assert float((probs.argmax(1) == targs).float().mean()) >= 0.9


def test_tta_and_show_results_delegate(learn) -> None:
    from lamina.vision.show import show_results
    from lamina.vision.tta import tta

    set_seed(1)
    preds, targs = learn.tta(n=2)
    set_seed(1)
    expected, expected_targs = tta(learn, n=2)
    torch.testing.assert_close(preds, expected)
    torch.testing.assert_close(targs, expected_targs)
    fig = learn.show_results(max_n=4)
    assert len([ax for ax in fig.axes if ax.get_title()]) == 4
    assert type(fig) is type(show_results(learn, max_n=4))


# ----------------------------------------------------------------------------- segmentation
def square_masks(root: Path, n: int = 12, size: int = 24) -> list[Path]:
    """Noise images with a bright square; masks: 1 inside the square, 0 outside."""
    rng = np.random.default_rng(0)
    (root / "images").mkdir()
    (root / "masks").mkdir()
    files = []
    for i in range(n):
        top, left = rng.integers(0, size - 10, 2)
        pixels = rng.integers(0, 80, (size, size, 3), dtype=np.uint8)
        mask = np.zeros((size, size), dtype=np.uint8)
        pixels[top : top + 10, left : left + 10] = 220
        mask[top : top + 10, left : left + 10] = 1
        Image.fromarray(pixels).save(root / "images" / f"{i}.png")
        Image.fromarray(mask).save(root / "masks" / f"{i}.png")
        files.append(Path("images") / f"{i}.png")
    return files


def mask_of(path: Path) -> Path:
    return path.parent.parent / "masks" / path.name


def test_unet_learner_segments_squares(tmp_path: Path) -> None:
    files = square_masks(tmp_path)
    dls = SegmentationDataLoaders.from_label_func(
        tmp_path, files, mask_of, codes=["background", "square"], bs=4, seed=0, device="cpu"
    )
    set_seed(0)
    learn = unet_learner(dls, "simple_cnn", pretrained=False)
    learn.progress.silent = True
    assert learn.loss_func.axis == 1
    learn.fit_one_cycle(6)
    mask, same, probs = learn.predict(tmp_path / files[0])
    truth = torch.from_numpy(np.array(Image.open(mask_of(tmp_path / files[0]))))
    assert mask.shape == (24, 24)
    assert probs.shape == (2, 24, 24)
    assert float((mask == truth).float().mean()) > 0.9


# ----------------------------------------------------------------------------- errors
def test_bad_arguments_are_named(digits_small: Path) -> None:
    dls = digits_dls(digits_small)
    with pytest.raises(ValueError, match="arch must be"):
        vision_learner(dls, 18)
    with pytest.raises(ValueError, match="n_out must be"):
        vision_learner(dls, "simple_cnn", pretrained=False, n_out=0)
    with pytest.raises(ValueError, match="lr must be"):
        vision_learner(dls, "simple_cnn", pretrained=False, lr=-1)
    with pytest.raises(ValueError, match="unknown model name 'resnet7'"):
        vision_learner(dls, "resnet7", pretrained=False)
    with pytest.raises(ValueError, match="pretrained must be"):
        vision_learner(dls, "simple_cnn", pretrained=3)
    with pytest.raises(ValueError, match="no pretrained weights are registered for 'simple_cnn'"):
        vision_learner(dls, "simple_cnn", pretrained=True)
    with pytest.raises(ValueError, match="images as their first element"):
        vision_learner(lamina.DataLoaders([], None), "simple_cnn", pretrained=False)


def test_a_module_arch_trains_but_cannot_be_exported(digits_small: Path, tmp_path: Path) -> None:
    module = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                           nn.Flatten(), nn.Linear(8, 10))  # fmt: skip
    learn = vision_learner(digits_dls(digits_small), module, pretrained=False)
    learn.progress.silent = True
    learn.fit(1)
    assert learn.predict(next((digits_small / "0").iterdir()))[2].shape == (10,)
    with pytest.raises(ValueError, match="registered architecture name.*Sequential"):
        learn.export(tmp_path / "model.lamina")
    assert not (tmp_path / "model.lamina").exists()
