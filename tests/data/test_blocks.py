"""Blocks, their type transforms, and the vocab."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from lamina.core.registry import lookup
from lamina.data.blocks import (
    Categorize,
    CategoryBlock,
    MultiCategorize,
    MultiCategoryBlock,
    RegressionBlock,
    ToFloatTarget,
    TransformBlock,
)
from lamina.data.transform import Transform, transform_from_config, transform_to_config
from lamina.data.vocab import Vocab
from lamina.vision.data.blocks import ImageBlock, MaskBlock, OpenImage, PointBlock, ToPoints


def test_vocab_is_sorted_stable_and_json() -> None:
    vocab = Vocab.from_labels(["dog", "cat", "dog", "ant"])
    assert list(vocab) == ["ant", "cat", "dog"]
    assert Vocab.from_labels(["ant", "dog", "cat"]) == vocab
    assert vocab.index("dog") == 2
    assert json.loads(json.dumps(vocab.to_list())) == ["ant", "cat", "dog"]
    assert list(Vocab.from_labels([10, 2, 33])) == [2, 10, 33]
    numpy_labels = Vocab.from_labels(np.array([3, 1, 3]))
    assert numpy_labels.to_list() == [1, 3]
    assert type(numpy_labels[0]) is int
    with pytest.raises(KeyError, match="label 'eel' is not in the vocab"):
        vocab.index("eel")


def test_vocab_rejects_bad_labels() -> None:
    with pytest.raises(ValueError, match="distinct; repeated: \\['a'\\]"):
        Vocab(["a", "b", "a"])
    with pytest.raises(ValueError, match="must be str, int, float or bool"):
        Vocab([("a", 1)])


def test_categorize_fits_on_labels_and_decodes() -> None:
    tfm = Categorize()
    tfm.setup(["b", "a", "b"])
    encoded = tfm.encode("b", "category")
    assert encoded.dtype == torch.int64
    assert int(encoded) == 1
    assert tfm.decode(encoded, "category") == "b"
    assert tfm.decode(torch.tensor([1, 0]), "category") == ["b", "a"]
    given = Categorize(vocab=["z", "a"])
    given.setup(["a", "z", "a"])
    assert list(given.vocab) == ["z", "a"]  # a given vocab keeps its order and is not refitted
    rebuilt = transform_from_config(json.loads(json.dumps(transform_to_config(tfm))))
    assert rebuilt.vocab == tfm.vocab


def test_multicategorize_multi_hot_and_encoded() -> None:
    tfm = MultiCategorize()
    tfm.setup([["b", "a"], ["c"], []])
    hot = tfm.encode(["c", "a"], "multicategory")
    assert hot.tolist() == [1.0, 0.0, 1.0]
    assert tfm.decode(hot, "multicategory") == ["a", "c"]
    encoded = MultiCategorize(vocab=["x", "y"], encoded=True)
    assert encoded.encode([0, 1], "multicategory").tolist() == [0.0, 1.0]
    with pytest.raises(ValueError, match="expected 2 multi-hot values, got 3"):
        encoded.encode([0, 1, 1], "multicategory")
    with pytest.raises(ValueError, match="encoded=True needs vocab"):
        MultiCategoryBlock(encoded=True)


def test_points_and_regression_targets() -> None:
    points = ToPoints().encode([[1, 2], [3, 4]], "points")
    assert points.dtype == torch.float32
    assert points.shape == (2, 2)
    assert ToPoints().encode([1, 2, 3, 4], "points").shape == (2, 2)
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        ToPoints().encode([[1, 2, 3]], "points")
    assert ToFloatTarget().encode(3, "regression").dtype == torch.float32
    with pytest.raises(ValueError, match="not numeric"):
        ToFloatTarget().encode("three", "regression")


def test_open_image_accepts_arrays_and_pil_in_any_mode() -> None:
    rgba = Image.new("RGBA", (4, 3), (0, 0, 0, 0))
    assert OpenImage().encode(rgba, "image").getpixel((0, 0)) == (255, 255, 255)
    grey = OpenImage("L").encode(np.full((3, 4, 3), 200, np.uint8), "image")
    assert (grey.mode, grey.size) == ("L", (4, 3))
    from_tensor = OpenImage().encode(torch.zeros(3, 5, 6, dtype=torch.uint8), "image")
    assert from_tensor.size == (6, 5)
    with pytest.raises(ValueError, match="mode must be 'RGB' or 'L'"):
        OpenImage("CMYK")
    with pytest.raises(ValueError, match="expected an image path"):
        OpenImage().encode(object(), "image")


def test_blocks_name_their_losses_and_metrics() -> None:
    category = CategoryBlock()
    assert (category.kind, category.loss_name, category.metric_names) == (
        "category", "cross_entropy_flat", ("accuracy",)
    )  # fmt: skip
    assert MaskBlock(["bg", "fg"]).loss_kwargs == {"axis": 1}
    assert MultiCategoryBlock().loss_name == "bce_with_logits_flat"
    assert MultiCategoryBlock().activation == "sigmoid"
    assert PointBlock().loss_name == RegressionBlock().loss_name == "mse_flat"
    assert ImageBlock().lazy
    assert not CategoryBlock().lazy
    assert [type(t).__name__ for t in ImageBlock().item_tfms()] == ["ToTensor"]
    assert [type(t).__name__ for t in ImageBlock().batch_tfms()] == ["IntToFloat"]


def test_blocks_are_registered_and_rebuild_from_config() -> None:
    for block in (ImageBlock("L"), CategoryBlock(["a", "b"]), MaskBlock([0, 1]),
                  RegressionBlock(3), MultiCategoryBlock(["x"], encoded=True)):  # fmt: skip
        cls = lookup("block", type(block).__name__)
        rebuilt = cls(**json.loads(json.dumps(block.config())))
        assert rebuilt.config() == block.config()


def test_block_type_tfms_are_fresh_copies() -> None:
    block = CategoryBlock()
    first, second = block.type_tfms()[0], block.type_tfms()[0]
    first.setup(["a", "b"])
    assert second.vocab is None
    assert block.vocab is None


def test_n_out() -> None:
    tfms = CategoryBlock().type_tfms()
    tfms[0].setup(["a", "b", "c"])
    assert CategoryBlock().n_out(tfms, torch.tensor(0)) == 3
    assert RegressionBlock().n_out([], torch.zeros(4)) == 4
    assert RegressionBlock(n_out=2).n_out([], torch.zeros(4)) == 2
    assert MaskBlock().n_out([], None) is None


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: ImageBlock("P"), "mode must be 'RGB' or 'L'"),
        (lambda: RegressionBlock(0), "n_out must be a positive integer"),
        (lambda: TransformBlock(kind=""), "kind must be a non-empty string"),
        (lambda: CategoryBlock("abc"), "vocab must be a list"),
    ],
)
def test_blocks_validate_arguments(make: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()  # type: ignore[operator]


@pytest.mark.parametrize("tfm", [Categorize(), MultiCategorize()])
def test_decode_before_setup_names_the_missing_vocab(tfm: Transform) -> None:
    # Regression: decoding without a vocab raised a bare TypeError ("NoneType" not subscriptable).
    with pytest.raises(ValueError, match="has no vocab"):
        tfm.decode(torch.tensor([1]), "category")
