"""Classification and segmentation interpretation against scikit-learn and NumPy references."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from lamina.models import simple_cnn
from lamina.testing import TinyMLP, synth_classification
from lamina.train.learner import Learner
from lamina.train.metrics import DiceMulti
from lamina.vision import ImageDataLoaders
from lamina.vision.interpret import ClassificationInterpretation, IoU, SegmentationInterpretation
from lamina.vision.show import batch_of_items
from tests.vision.test_show import CODES, mask_of, segmentation_files
from tests.vision.test_tta import make_learner, noisy_folders

matplotlib.use("Agg")

LABELS = ("top", "middle", "bottom")


def three_class_folders(root: Path, n: int = 8, size: int = 16) -> Path:
    """A bright bar at the top, middle or bottom of a noisy image; some bars are faint."""
    rng = np.random.default_rng(1)
    for split in ("train", "valid"):
        for row, label in enumerate(LABELS):
            (root / split / label).mkdir(parents=True)
            for i in range(n):
                pixels = rng.integers(0, 120, (size, size, 3), dtype=np.uint8)
                pixels[2 + 5 * row : 5 + 5 * row, 2:14] = 140 + 10 * i
                Image.fromarray(pixels).save(root / split / label / f"{i}.png")
    return root


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Learner:
    root = three_class_folders(tmp_path_factory.mktemp("bars"))
    dls = ImageDataLoaders.from_folder(root, bs=8, device="cpu", seed=0)
    torch.manual_seed(0)
    learn = Learner(dls, simple_cnn((3, 8, 16), num_classes=3))
    learn.progress.silent = True
    learn.fit(1, 3e-3)
    return learn


def test_confusion_matrix_matches_sklearn(trained: Learner) -> None:
    interp = ClassificationInterpretation.from_learner(trained)
    preds, targs = trained.get_preds()
    torch.testing.assert_close(interp.preds, preds)
    assert torch.equal(interp.targs, targs)
    expected = confusion_matrix(targs.numpy(), preds.argmax(1).numpy(), labels=[0, 1, 2])
    matrix = interp.confusion_matrix()
    assert np.array_equal(matrix, expected)
    assert matrix.sum() == len(targs) == 24
    assert 0 < np.trace(matrix) < 24  # right and wrong predictions both occur
    assert interp.vocab == sorted(LABELS)


def test_most_confused_lists_the_off_diagonal_cells_by_count(trained: Learner) -> None:
    interp = ClassificationInterpretation.from_learner(trained)
    matrix, vocab = interp.confusion_matrix(), interp.vocab
    pairs = interp.most_confused()
    expected = {(vocab[r], vocab[c], int(matrix[r, c]))
                for r in range(3) for c in range(3) if r != c and matrix[r, c] > 0}  # fmt: skip
    assert set(pairs) == expected
    assert [count for *_, count in pairs] == sorted((c for *_, c in pairs), reverse=True)
    top = pairs[0][2]
    assert all(count >= top for *_, count in interp.most_confused(min_val=top))


def test_top_losses_are_the_cross_entropy_of_each_item(trained: Learner) -> None:
    interp = ClassificationInterpretation.from_learner(trained)
    reference = -torch.log(interp.preds[torch.arange(24), interp.targs])
    losses, indices = interp.top_losses(5)
    expected_losses, expected_indices = reference.sort(descending=True)
    torch.testing.assert_close(losses, expected_losses[:5], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(reference[indices], losses, rtol=1e-4, atol=1e-5)
    smallest, _ = interp.top_losses(3, largest=False)
    torch.testing.assert_close(smallest, expected_losses.flip(0)[:3], rtol=1e-4, atol=1e-5)
    assert len(interp.top_losses()[0]) == 24
    with pytest.raises(ValueError, match="k must be a positive integer or None, got 0"):
        interp.top_losses(0)


def test_classification_report_has_sklearn_numbers(trained: Learner) -> None:
    interp = ClassificationInterpretation.from_learner(trained)
    report = interp.classification_report(digits=4)
    rows = {line.split()[0]: line.split()[1:] for line in report.splitlines() if line.strip()}
    precision, recall, f1, support = precision_recall_fscore_support(
        interp.targs.numpy(), interp.decoded.numpy(), labels=[0, 1, 2], zero_division=0
    )
    for index, label in enumerate(interp.vocab):
        values = [float(v) for v in rows[label]]
        assert values[:3] == pytest.approx([precision[index], recall[index], f1[index]], abs=1e-4)
        assert values[3] == support[index]
    accuracy = float((interp.decoded == interp.targs).float().mean())
    assert float(rows["accuracy"][0]) == pytest.approx(accuracy, abs=1e-4)
    assert float(rows["macro"][3]) == pytest.approx(f1.mean(), abs=1e-4)  # "macro avg p r f1 n"


def test_interpretation_holds_no_inputs_and_refetches_the_plotted_items(trained: Learner) -> None:
    interp = ClassificationInterpretation.from_learner(trained)
    tensors = {name: v for name, v in vars(interp).items() if isinstance(v, torch.Tensor)}
    assert set(tensors) == {"preds", "targs", "losses", "decoded"}
    assert all(len(v) == 24 and v.ndim <= 2 and v.numel() <= 24 * 3 for v in tensors.values())
    fig = interp.plot_top_losses(4, ncols=2)
    _, indices = interp.top_losses(4)
    images = trained.dls.valid.decode(batch_of_items(trained.dls.valid, indices.tolist()))[0]
    for ax, image, index in zip(fig.axes, images, indices.tolist(), strict=True):
        assert np.array_equal(ax.images[0].get_array(), image.permute(1, 2, 0).numpy())
        actual, predicted = ax.get_title().split("\n")[0].split(" / ")
        assert actual == interp.vocab[interp.targs[index]]
        assert predicted == interp.vocab[interp.decoded[index]]


def test_plot_confusion_matrix_writes_each_count(trained: Learner) -> None:
    interp = ClassificationInterpretation.from_learner(trained)
    fig = interp.plot_confusion_matrix()
    texts = [text.get_text() for text in fig.axes[0].texts]
    assert texts == [str(v) for v in interp.confusion_matrix().flatten()]
    normalized = interp.plot_confusion_matrix(normalize=True)
    values = np.array([float(t.get_text()) for t in normalized.axes[0].texts]).reshape(3, 3)
    assert values.sum(1) == pytest.approx(np.ones(3), abs=0.02)


def test_classification_interpretation_works_without_images() -> None:
    dls = synth_classification(n_classes=3)
    dls.vocab = ["a", "b", "c"]
    learn = Learner(dls, TinyMLP(n_out=3))
    learn.progress.silent = True
    interp = ClassificationInterpretation.from_learner(learn)
    preds, targs = learn.get_preds()
    assert np.array_equal(
        interp.confusion_matrix(), confusion_matrix(targs, preds.argmax(1), labels=[0, 1, 2])
    )
    with pytest.raises(ValueError, match="plot_top_losses draws images"):
        interp.plot_top_losses(2)


def test_training_set_is_read_in_order_without_augmentation(tmp_path: Path) -> None:
    learn = make_learner(noisy_folders(tmp_path))  # random crops and aug_transforms on train
    first = ClassificationInterpretation.from_learner(learn, ds_idx=0)
    again = ClassificationInterpretation.from_learner(learn, ds_idx=0)
    torch.testing.assert_close(first.preds, again.preds)
    labels = torch.stack([sample[1] for sample in learn.dls.train.dataset.samples])
    assert torch.equal(first.targs, labels)
    assert learn.dls.train.dataset.split_idx == 0  # the learner's own loader is untouched


# ----------------------------------------------------------------------------- segmentation
@pytest.fixture(scope="module")
def segmenter(tmp_path_factory: pytest.TempPathFactory) -> Learner:
    from lamina.vision import SegmentationDataLoaders

    root = tmp_path_factory.mktemp("masks")
    files = segmentation_files(root, n=12)
    dls = SegmentationDataLoaders.from_label_func(
        root, files, mask_of, codes=CODES, valid_pct=0.5, seed=0, bs=4, device="cpu"
    )
    torch.manual_seed(0)
    learn = Learner(dls, torch.nn.Conv2d(3, len(CODES), 1), metrics=[IoU(), DiceMulti()])
    learn.progress.silent = True
    learn.fit(2, 2e-2)
    return learn


def numpy_iou_and_dice(learn: Learner) -> tuple[np.ndarray, np.ndarray]:
    preds, targs = learn.get_preds()
    predicted, actual = preds.argmax(1).numpy(), targs.numpy()
    iou, dice = [], []
    for c in range(len(CODES)):
        p, a = predicted == c, actual == c
        iou.append((p & a).sum() / (p | a).sum())
        dice.append(2 * (p & a).sum() / (p.sum() + a.sum()))
    return np.array(iou), np.array(dice)


def test_segmentation_iou_matches_numpy_over_the_whole_set(segmenter: Learner) -> None:
    interp = SegmentationInterpretation.from_learner(segmenter)
    iou, dice = numpy_iou_and_dice(segmenter)
    assert len(segmenter.dls.valid) == 2  # accumulated over several batches
    assert ((iou > 0) & (iou < 1)).any()  # neither all right nor all wrong
    np.testing.assert_allclose(interp.iou(), iou)
    np.testing.assert_allclose(interp.dice(), dice)
    assert interp.mean_iou() == pytest.approx(iou.mean())
    assert interp.confusion.sum() == 6 * 16 * 16
    preds, targs = segmenter.get_preds()
    per_item = F.nll_loss(torch.log(preds), targs, reduction="none").mean((1, 2))
    torch.testing.assert_close(interp.losses, per_item, rtol=1e-4, atol=1e-5)


def test_iou_and_dice_metrics_match_numpy(segmenter: Learner) -> None:
    _, iou_value, dice_value = segmenter.validate()
    iou, dice = numpy_iou_and_dice(segmenter)
    assert iou_value == pytest.approx(iou.mean())
    assert dice_value == pytest.approx(dice.mean())


def test_segmentation_plot_top_losses_shows_image_target_prediction(segmenter: Learner) -> None:
    interp = SegmentationInterpretation.from_learner(segmenter)
    fig = interp.plot_top_losses(segmenter, k=2)
    assert len(fig.axes) == 6
    losses, indices = interp.top_losses(2)
    assert fig.axes[0].get_title() == f"item {int(indices[0])}, loss {float(losses[0]):.3f}"
    target = batch_of_items(segmenter.dls.valid, [int(indices[1])])[1][0]
    assert np.array_equal(np.asarray(fig.axes[4].images[1].get_array()), target.numpy())


def test_segmentation_interpretation_needs_codes(trained: Learner) -> None:
    with pytest.raises(ValueError, match="MaskBlock"):
        SegmentationInterpretation.from_learner(trained)
