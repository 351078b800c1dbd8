"""Multi-label interpretation of a briefly trained model, against scikit-learn's multi-label
metrics: ClassificationInterpretation.from_learner hands multi-label learners to it."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pytest
import torch
from PIL import Image
from sklearn.metrics import multilabel_confusion_matrix, precision_recall_fscore_support

from lamina.data.loaders import DataLoaders
from lamina.models import simple_cnn
from lamina.testing import TinyMLP
from lamina.train.learner import Learner
from lamina.train.losses import BCEWithLogitsFlat
from lamina.vision import (
    ClassificationInterpretation,
    DataBlock,
    ImageBlock,
    MultiCategoryBlock,
    MultiLabelInterpretation,
    RandomSplitter,
    get_image_files,
)
from lamina.vision.show import batch_of_items

matplotlib.use("Agg")

ROWS = ("top", "middle", "bottom")


def bar_images(root: Path, n: int = 40, size: int = 16) -> Path:
    """Noisy images with a bright bar in each of a random subset of rows, named by the rows
    (`top-bottom_7.png`); some bars are faint, so a short training gets some labels wrong."""
    rng = np.random.default_rng(2)
    for i in range(n):
        rows = [r for r in range(3) if rng.random() < 0.5] or [int(rng.integers(3))]
        pixels = rng.integers(0, 120, (size, size, 3), dtype=np.uint8)
        for r in rows:
            pixels[2 + 5 * r : 5 + 5 * r, 2:14] = 125 + int(rng.integers(0, 100))
        Image.fromarray(pixels).save(root / f"{'-'.join(ROWS[r] for r in rows)}_{i}.png")
    return root


def labels_of(path: Path) -> list[str]:
    return path.stem.split("_")[0].split("-")


@pytest.fixture(scope="module")
def learn(tmp_path_factory: pytest.TempPathFactory) -> Learner:
    root = bar_images(tmp_path_factory.mktemp("bars"))
    dblock = DataBlock(
        blocks=(ImageBlock(), MultiCategoryBlock()),
        get_items=get_image_files,
        get_y=labels_of,
        splitter=RandomSplitter(0.5, seed=0),
    )
    dls = dblock.dataloaders(root, bs=8, device="cpu", seed=0)
    torch.manual_seed(0)
    learn = Learner(dls, simple_cnn((3, 8, 16), num_classes=3))
    learn.progress.silent = True
    learn.fit(2, 3e-3)
    return learn


@pytest.fixture(scope="module")
def interp(learn: Learner) -> MultiLabelInterpretation:
    result = ClassificationInterpretation.from_learner(learn)
    assert isinstance(result, MultiLabelInterpretation)
    return result


def test_from_learner_dispatches_and_keeps_the_learners_predictions(learn, interp) -> None:
    assert isinstance(learn.loss_func, BCEWithLogitsFlat)
    preds, targs = learn.get_preds()
    torch.testing.assert_close(interp.preds, preds)
    assert torch.equal(interp.targs, targs.bool())
    assert interp.thresh == learn.loss_func.thresh == 0.5
    assert torch.equal(interp.decoded, preds > 0.5)
    assert interp.vocab == sorted(ROWS)
    assert len(learn.dls.valid) > 1


def test_per_label_confusion_matches_sklearn(interp) -> None:
    actual, predicted = interp.targs.numpy(), interp.decoded.numpy()
    expected = multilabel_confusion_matrix(actual, predicted)
    matrix = interp.confusion_matrix()
    assert np.array_equal(matrix, expected)
    assert (matrix.sum(axis=(1, 2)) == len(actual)).all()
    wrong = matrix[:, 0, 1].sum() + matrix[:, 1, 0].sum()
    assert 0 < wrong < actual.size  # both right and wrong labels occur
    table = interp.confusion_table()
    assert list(table.index) == interp.vocab
    assert table["tp"].tolist() == expected[:, 1, 1].tolist()
    assert table["fp"].tolist() == expected[:, 0, 1].tolist()
    assert table["fn"].tolist() == expected[:, 1, 0].tolist()
    assert table["tn"].tolist() == expected[:, 0, 0].tolist()
    assert table["support"].tolist() == actual.sum(0).tolist()


def test_classification_report_has_sklearn_per_label_numbers(interp) -> None:
    report = interp.classification_report(digits=4)
    rows = {line.split()[0]: line.split()[1:] for line in report.splitlines() if line.strip()}
    actual, predicted = interp.targs.numpy(), interp.decoded.numpy()
    precision, recall, f1, support = precision_recall_fscore_support(
        actual, predicted, zero_division=0
    )
    for index, label in enumerate(interp.vocab):
        values = [float(v) for v in rows[label]]
        assert values[:3] == pytest.approx([precision[index], recall[index], f1[index]], abs=1e-4)
        assert values[3] == support[index]
    micro = precision_recall_fscore_support(actual, predicted, average="micro", zero_division=0)
    assert [float(v) for v in rows["micro"][1:4]] == pytest.approx(micro[:3], abs=1e-4)
    assert "samples" in rows


def test_top_losses_are_each_items_mean_binary_cross_entropy(interp) -> None:
    p, y = interp.preds.double(), interp.targs.double()
    reference = -(y * p.log() + (1 - y) * (1 - p).log()).mean(1)
    losses, indices = interp.top_losses(4)
    expected, expected_indices = reference.sort(descending=True)
    torch.testing.assert_close(losses.double(), expected[:4], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(reference[indices], losses.double(), rtol=1e-4, atol=1e-5)
    table = interp.top_losses_table(4)
    assert table["item"].tolist() == indices.tolist()
    for row in table.itertuples():
        actual = [v for v, on in zip(interp.vocab, interp.targs[row.item], strict=True) if on]
        predicted = [v for v, on in zip(interp.vocab, interp.decoded[row.item], strict=True) if on]
        assert row.actual == actual
        assert row.predicted == predicted
        assert row.wrong == [v for v in interp.vocab if (v in actual) != (v in predicted)]
    assert table["wrong"].map(len).iloc[0] > 0  # the worst item has a wrong label


def test_threshold_is_configurable_and_refused_for_single_label(learn) -> None:
    strict = ClassificationInterpretation.from_learner(learn, thresh=0.9)
    assert isinstance(strict, MultiLabelInterpretation)
    assert torch.equal(strict.decoded, strict.preds > 0.9)
    assert strict.decoded.sum() < (strict.preds > 0.5).sum()
    assert np.array_equal(
        strict.confusion_matrix(),
        multilabel_confusion_matrix(strict.targs.numpy(), strict.decoded.numpy()),
    )
    with pytest.raises(ValueError, match=r"thresh must be a probability in \(0, 1\), got 1.5"):
        MultiLabelInterpretation.from_learner(learn, thresh=1.5)
    single = Learner(DataLoaders.from_tensors((torch.randn(8, 8), torch.arange(8) % 3),
                                              (torch.randn(8, 8), torch.arange(8) % 3), bs=4),
                     TinyMLP(n_out=3))  # fmt: skip
    single.dls.vocab = ["a", "b", "c"]
    with pytest.raises(ValueError, match="thresh=0.7 is for multi-label learners"):
        ClassificationInterpretation.from_learner(single, thresh=0.7)


def test_plot_confusion_matrix_draws_each_labels_counts(interp) -> None:
    fig = interp.plot_confusion_matrix(ncols=2)
    drawn = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in drawn] == interp.vocab
    for ax, matrix in zip(drawn, interp.confusion_matrix(), strict=True):
        assert [t.get_text() for t in ax.texts] == [str(v) for v in matrix.flatten()]
    normalized = interp.plot_confusion_matrix(normalize=True)
    values = np.array([float(t.get_text()) for t in normalized.axes[0].texts]).reshape(2, 2)
    assert values.sum(1) == pytest.approx(np.ones(2), abs=0.02)


def test_plot_top_losses_titles_the_label_sets(learn, interp) -> None:
    fig = interp.plot_top_losses(4, ncols=2)
    _, indices = interp.top_losses(4)
    images = learn.dls.valid.decode(batch_of_items(learn.dls.valid, indices.tolist()))[0]
    for ax, image, index in zip(fig.axes, images, indices.tolist(), strict=True):
        assert np.array_equal(ax.images[0].get_array(), image.permute(1, 2, 0).numpy())
        actual, predicted = ax.get_title().split("\n")[0].split(" / ")
        expected_actual, expected_predicted = interp.label_sets(index)
        assert actual == ";".join(expected_actual)
        assert predicted == ";".join(expected_predicted)


def test_shapes_are_checked_with_a_pointer_to_the_right_class() -> None:
    with pytest.raises(ValueError, match="for multi-label targets.*use MultiLabelInterpretation"):
        ClassificationInterpretation(None, torch.rand(4, 3), torch.ones(4, 3), torch.ones(4), "abc")
    with pytest.raises(ValueError, match="for single-label targets.*ClassificationInterpretation"):
        MultiLabelInterpretation(None, torch.rand(4, 3), torch.ones(4), torch.ones(4), "abc")
    with pytest.raises(ValueError, match="the model gives 3 labels but vocab has 2"):
        MultiLabelInterpretation(None, torch.rand(4, 3), torch.ones(4, 3), torch.ones(4), "ab")


def test_works_without_images() -> None:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(24, 8, generator=generator)
    y = (x[:, :3] > 0).float()  # each label from one feature
    dls = DataLoaders.from_tensors((x[:16], y[:16]), (x[16:], y[16:]), bs=4)
    dls.vocab = ["a", "b", "c"]
    learn = Learner(dls, TinyMLP(n_out=3), loss_func=BCEWithLogitsFlat())
    learn.progress.silent = True
    interp = ClassificationInterpretation.from_learner(learn)
    assert isinstance(interp, MultiLabelInterpretation)
    assert interp.confusion_matrix().sum() == 8 * 3
    with pytest.raises(ValueError, match="plot_top_losses draws images.*top_losses_table"):
        interp.plot_top_losses(2)
