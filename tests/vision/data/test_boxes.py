"""Detection data: box and label blocks, padded batches, a COCO file end to end, and drawing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from PIL import Image

from lamina.core.registry import lookup
from lamina.data.datablock import DataBlock
from lamina.data.item_dataset import ItemError
from lamina.data.splitters import IndexSplitter
from lamina.vision.data import (
    BBoxBlock,
    BBoxLblBlock,
    BoxLabels,
    ImageBlock,
    ToBoxes,
    get_annotations,
)
from lamina.vision.data.boxes import pad_box_labels, pad_boxes
from lamina.vision.data.coco import AnnotationError
from lamina.vision.data.show import draw_boxes
from lamina.vision.transforms import Resize, aug_transforms

BOXES = {
    0: [[20, 10, 50, 30]],
    1: [[20, 10, 50, 30], [60, 40, 75, 55]],
    2: [],
    3: [[5, 5, 15, 15], [20, 10, 50, 30], [60, 40, 75, 55]],
}
LABELS = {0: ["cat"], 1: ["cat", "dog"], 2: [], 3: ["cat", "cat", "dog"]}


def _image(index: int) -> np.ndarray:
    pixels = np.zeros((60, 80, 3), np.uint8)
    for x0, y0, x1, y1 in BOXES[index]:
        pixels[y0:y1, x0:x1] = 255
    return pixels


def _dblock(**kwargs: object) -> DataBlock:
    args: dict = {
        "blocks": (ImageBlock, BBoxBlock, BBoxLblBlock),
        "get_x": _image,
        "get_y": [BOXES.get, LABELS.get],
        "n_inp": 1,
        "splitter": IndexSplitter([3]),
        "item_tfms": Resize(40, method="squish"),
    }
    return DataBlock(**{**args, **kwargs})


def test_to_boxes_reads_and_checks_boxes() -> None:
    tfm = ToBoxes()
    assert tfm.encode([[1, 2, 3, 4]], "bbox").dtype == torch.float32
    assert tfm.encode([1, 2, 3, 4, 5, 6, 7, 8], "bbox").shape == (2, 4)
    assert tfm.encode([], "bbox").shape == (0, 4)
    assert tfm.encode(None, "bbox").shape == (0, 4)
    with pytest.raises(ValueError, match=r"box 1 \[5.0, 5.0, 2.0, 9.0\] has x1 < x0"):
        tfm.encode([[0, 0, 1, 1], [5, 5, 2, 9]], "bbox")
    with pytest.raises(ValueError, match=r"shape \(N, 4\)"):
        tfm.encode([[0, 0, 1]], "bbox")
    with pytest.raises(ValueError, match="finite"):
        tfm.encode([[0, 0, float("nan"), 1]], "bbox")


def test_box_labels_put_the_padding_class_first() -> None:
    tfm = BoxLabels()
    tfm.setup([["dog", "cat"], [], ["ant"]])
    assert tfm.vocab is not None
    assert list(tfm.vocab) == ["#na#", "ant", "cat", "dog"]
    encoded = tfm.encode(["dog", "ant"], "bbox_label")
    assert encoded.tolist() == [3, 1]
    assert tfm.decode(encoded, "bbox_label") == ["dog", "ant"]
    assert tfm.decode(torch.tensor([[3, 0], [2, 2]]), "bbox_label") == [
        ["dog", "#na#"],
        ["cat", "cat"],
    ]
    given = BoxLabels(["b", "a"])
    assert given.vocab is not None
    assert list(given.vocab) == ["#na#", "b", "a"]
    assert BoxLabels(["b"], add_na=False).vocab == ["b"]
    with pytest.raises(ValueError, match="one label per box"):
        tfm.encode("dog", "bbox_label")


def test_collation_pads_boxes_and_labels_to_the_largest_count() -> None:
    boxes = [torch.ones(2, 4), torch.zeros(0, 4), torch.full((1, 4), 3.0)]
    padded = pad_boxes(boxes)
    assert padded.shape == (3, 2, 4)
    assert padded[0].tolist() == [[1.0] * 4] * 2
    assert padded[1].tolist() == [[0.0] * 4] * 2
    assert padded[2, 1].tolist() == [0.0] * 4
    labels = pad_box_labels([torch.tensor([4, 5]), torch.tensor([], dtype=torch.int64),
                             torch.tensor([6])])  # fmt: skip
    assert labels.tolist() == [[4, 5], [0, 0], [6, 0]]
    assert pad_boxes([torch.zeros(0, 4)]).shape == (1, 1, 4)


def test_datablock_batches_boxes_and_labels() -> None:
    dls = _dblock().dataloaders(list(BOXES), bs=3, device="cpu", shuffle=False, seed=0)
    images, boxes, labels = dls.train.one_batch()
    assert images.shape == (3, 3, 40, 40)
    assert boxes.shape == (3, 2, 4)
    assert labels.tolist() == [[1, 0], [1, 2], [0, 0]]
    assert dls.vocab == ["#na#", "cat", "dog"]
    # Resize(40, squish) scales x by 1/2 and y by 2/3; [-1, 1] is the image's edges.
    expected = torch.tensor([10, 20 / 3, 25, 20]) / 40 * 2 - 1
    assert torch.allclose(boxes[0, 0], expected)
    assert boxes[0, 1].tolist() == [0.0] * 4
    _, valid_boxes, valid_labels = dls.valid.one_batch()
    assert valid_boxes.shape == (1, 3, 4)
    assert valid_labels.tolist() == [[1, 1, 2]]
    decoded = dls.decode((images, boxes, labels))
    assert decoded[2] == [["cat", "#na#"], ["cat", "dog"], ["#na#", "#na#"]]


@pytest.mark.parametrize("fuse_augment", [False, True])
def test_augmented_batches_keep_one_label_per_box(fuse_augment: bool) -> None:
    dblock = _dblock(batch_tfms=aug_transforms(max_rotate=30, max_zoom=1.5, p_affine=1.0))
    dls = dblock.dataloaders(list(BOXES), bs=3, device="cpu", seed=1, fuse_augment=fuse_augment)
    fused = any(type(t).__name__ == "ItemAffineResize" for t in dls.train.dataset.item_tfms.tfms)
    assert fused == fuse_augment
    for _ in range(3):
        _, boxes, labels = dls.train.one_batch()
        padding = labels == 0
        assert (boxes[padding] == 0).all()
        assert (boxes[~padding][:, 2:] > boxes[~padding][:, :2]).all()
        assert (boxes.abs() <= 1).all()


def test_export_config_keeps_the_box_labels_vocab() -> None:
    dls = _dblock().dataloaders(list(BOXES), bs=2, device="cpu", seed=0)
    config = json.loads(json.dumps(dls.export_config()))
    assert [block["name"] for block in config["blocks"]] == [
        "ImageBlock",
        "BBoxBlock",
        "BBoxLblBlock",
    ]
    assert config["type_tfms"][2] == [
        {"name": "BoxLabels", "args": {"vocab": ["#na#", "cat", "dog"], "add_na": True}}
    ]
    images, boxes, labels = next(iter(dls.test_dl([0, 3], with_labels=True)))
    assert boxes.shape == (2, 3, 4)
    assert labels.tolist() == [[1, 0, 0], [1, 1, 2]]


def test_summary_describes_boxes_and_labels() -> None:
    text = _dblock().summary(list(BOXES), show=False)
    assert "1 boxes (x0, y0, x1, y1): [[20.0, 10.0, 50.0, 30.0]]" in text
    assert "1 box labels: [1]" in text
    assert "collate 3 items" in text


def test_a_bad_box_names_the_item() -> None:
    boxes = {**BOXES, 1: [[20, 10, 5, 30]]}
    with pytest.raises(ItemError, match=r"item 1 .*box 0 .*has x1 < x0"):
        _dblock(get_y=[boxes.get, LABELS.get]).datasets(list(BOXES))


def test_more_labels_than_boxes_is_an_error_naming_the_item() -> None:
    labels = {**LABELS, 0: ["cat", "dog"]}
    dsets = _dblock(get_y=[BOXES.get, labels.get]).datasets(list(BOXES))
    with pytest.raises(ItemError, match=r"item 0 .*\(1,\) boxes but \(2,\) labels"):
        dsets.train[0]


def test_blocks_are_registered_and_rebuild_from_config() -> None:
    for block in (BBoxBlock(), BBoxLblBlock(["a", "b"]), BBoxLblBlock(add_na=False)):
        cls = lookup("block", type(block).__name__)
        rebuilt = cls(**json.loads(json.dumps(block.config())))
        assert rebuilt.config() == block.config()
    assert BBoxLblBlock(["a"]).config() == {"vocab": ["#na#", "a"], "add_na": True}


def _rectangles(ax: object) -> list[tuple[str, list[float]]]:
    return [
        (patch.get_label(), [*patch.get_xy(), patch.get_width(), patch.get_height()])
        for patch in ax.patches  # type: ignore[attr-defined]
        if isinstance(patch, Rectangle)
    ]


def test_draw_boxes_outlines_boxes_in_pixels_with_labels() -> None:
    ax = Figure().subplots()
    boxes = torch.tensor([[-1.0, -1.0, 0.0, 0.5], [0.0, 0.0, 0.0, 0.0], [0.5, 0.5, 1.0, 1.0]])
    patches = draw_boxes(ax, boxes, (80, 60), labels=["cat", "#na#", "dog"])
    assert patches[1] is None
    assert _rectangles(ax) == [("cat", [0.0, 0.0, 40.0, 45.0]), ("dog", [60.0, 45.0, 20.0, 15.0])]
    assert sorted(text.get_text() for text in ax.texts) == ["cat", "dog"]


def test_show_batch_draws_each_box_with_its_label() -> None:
    dls = _dblock().dataloaders(list(BOXES), bs=3, device="cpu", shuffle=False, seed=0)
    fig = dls.train.show_batch(max_n=3, shuffle=False)
    first, second, third = fig.axes[:3]
    assert [label for label, _ in _rectangles(first)] == ["cat"]
    assert _rectangles(first)[0][1] == pytest.approx([10.0, 20 / 3, 15.0, 40 / 3], abs=1e-4)
    assert [label for label, _ in _rectangles(second)] == ["cat", "dog"]
    assert _rectangles(third) == []
    assert sorted(text.get_text() for text in second.texts) == ["cat", "dog"]
    assert all(not ax.get_title() for ax in (first, second, third))


def test_labels_without_boxes_go_in_the_title() -> None:
    ax = Figure().subplots()
    assert BBoxLblBlock().show(ax, ["cat", "#na#", "dog"], {}) == "cat;dog"


def _write_coco(folder: Path) -> Path:
    for name, index in (("a.png", 1), ("b.png", 3), ("c.png", 2)):
        Image.fromarray(_image(index)).save(folder / name)
    data = {
        "images": [
            {"id": 7, "file_name": "a.png", "width": 80, "height": 60},
            {"id": 8, "file_name": "b.png", "width": 80, "height": 60},
            {"id": 9, "file_name": "c.png", "width": 80, "height": 60},
        ],
        "annotations": [
            {"id": 1, "image_id": 7, "bbox": [20, 10, 30, 20], "category_id": 3},
            {"id": 2, "image_id": 8, "bbox": [5, 5, 10, 10], "category_id": 1},
            {"id": 3, "image_id": 7, "bbox": [60, 40, 15, 15], "category_id": 2},
            {"id": 4, "image_id": 8, "bbox": [20, 10, 30, 20], "category_id": 3},
            {"id": 5, "image_id": 8, "bbox": [60, 40, 15, 15], "category_id": 2},
        ],
        "categories": [
            {"id": 1, "name": "ant"},
            {"id": 2, "name": "dog"},
            {"id": 3, "name": "cat"},
        ],  # fmt: skip
    }
    path = folder / "train.json"
    path.write_text(json.dumps(data))
    return path


def test_coco_annotations_read_boxes_as_corners(tmp_path: Path) -> None:
    files, annotations = get_annotations(_write_coco(tmp_path))
    assert files == ["a.png", "b.png", "c.png"]
    assert annotations[0] == ([[20.0, 10.0, 50.0, 30.0], [60.0, 40.0, 75.0, 55.0]],
                              ["cat", "dog"])  # fmt: skip
    assert annotations[1] == (
        [[5.0, 5.0, 15.0, 15.0], [20.0, 10.0, 50.0, 30.0], [60.0, 40.0, 75.0, 55.0]],
        ["ant", "cat", "dog"],
    )
    assert annotations[2] == ([], [])
    files, annotations = get_annotations(tmp_path / "train.json", prefix="img/", keep_empty=False)
    assert files == ["img/a.png", "img/b.png"]


def test_coco_file_to_batches(tmp_path: Path) -> None:
    files, annotations = get_annotations(_write_coco(tmp_path))
    lookup_ = dict(zip(files, annotations, strict=True))
    dblock = DataBlock(
        blocks=(ImageBlock, BBoxBlock, BBoxLblBlock),
        get_items=lambda folder: [folder / name for name in files],
        get_y=[lambda p: lookup_[p.name][0], lambda p: lookup_[p.name][1]],
        n_inp=1,
        splitter=IndexSplitter([2]),
        item_tfms=Resize(40, method="squish"),
    )
    dls = dblock.dataloaders(tmp_path, bs=2, device="cpu", shuffle=False, seed=0)
    images, boxes, labels = dls.train.one_batch()
    assert images.shape == (2, 3, 40, 40)
    assert dls.vocab == ["#na#", "ant", "cat", "dog"]
    assert labels.tolist() == [[2, 3, 0], [1, 2, 3]]
    # The boxes still frame the white rectangles of the decoded, resized images.
    for image, item_boxes in zip(images, boxes, strict=True):
        pixels = (item_boxes + 1) / 2 * 40
        ys, xs = torch.nonzero(image[0] > 0.5, as_tuple=True)
        white = torch.stack([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]).float()
        union = torch.cat([pixels[:, :2].amin(0), pixels[:, 2:].amax(0)])
        assert torch.allclose(union, white, atol=1.0), (union, white)


def _coco_error(tmp_path: Path, change: dict) -> str:
    path = _write_coco(tmp_path)
    data = json.loads(path.read_text())
    for key, value in change.items():
        section, index, field = key.split(".")
        if value is None:
            del data[section][int(index)][field]
        else:
            data[section][int(index)][field] = value
    path.write_text(json.dumps(data))
    with pytest.raises(AnnotationError) as error:
        get_annotations(path)
    return str(error.value)


def test_coco_errors_name_the_file_and_the_entry(tmp_path: Path) -> None:
    path = str(tmp_path / "train.json")
    message = _coco_error(tmp_path, {"annotations.2.bbox": None})
    assert message.startswith(f"{path}: annotations[2]: missing key 'bbox'")
    message = _coco_error(tmp_path, {"annotations.1.bbox": [5, 5, -2, 10]})
    assert f"{path}: annotations[1]: bbox [5, 5, -2, 10] has a negative width" in message
    message = _coco_error(tmp_path, {"annotations.3.image_id": 99})
    assert f"{path}: annotations[3]: image_id 99 is not among the file's images" in message
    message = _coco_error(tmp_path, {"annotations.0.category_id": 5})
    assert "annotations[0]: category_id 5 is not among the file's categories" in message
    message = _coco_error(tmp_path, {"images.1.file_name": None})
    assert "images[1]: missing key 'file_name'" in message
    message = _coco_error(tmp_path, {"annotations.0.bbox": [1, 2, 3]})
    assert "bbox must be [x, y, width, height]" in message
    message = _coco_error(tmp_path, {"images.1.id": 7})
    assert "image id 7 is listed twice" in message


def test_coco_file_level_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no such annotation file"):
        get_annotations(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match=f"{bad}: not a JSON file"):
        get_annotations(bad)
    bad.write_text(json.dumps({"images": [], "annotations": []}))
    with pytest.raises(ValueError, match="no 'categories' list"):
        get_annotations(bad)
    bad.write_text(json.dumps([1, 2]))
    with pytest.raises(ValueError, match="expected a JSON object"):
        get_annotations(bad)


class FixedDetector(torch.nn.Module):
    """Predicts the same two boxes for every image: one "dog", one background."""

    def __init__(self) -> None:
        super().__init__()
        self.bias = torch.nn.Parameter(torch.zeros(1))

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n = len(images)
        boxes = torch.tensor([[-0.5, -0.5, 0.5, 0.5], [0.0, 0.0, 0.0, 0.0]]).expand(n, 2, 4)
        scores = torch.tensor([[0.0, 0.0, 5.0], [5.0, 0.0, 0.0]]).expand(n, 2, 3)
        return boxes + self.bias, scores


def test_show_results_draws_target_and_predicted_boxes_with_labels() -> None:
    from lamina.train.learner import Learner
    from lamina.vision.show import RIGHT, WRONG, show_results

    dls = _dblock().dataloaders(list(BOXES), bs=2, device="cpu", seed=0)
    learn = Learner(dls, FixedDetector(), loss_func=lambda *args: torch.zeros(()))
    fig = show_results(learn, max_n=1)
    (ax,) = fig.axes
    patches = [p for p in ax.patches if isinstance(p, Rectangle)]
    # Target (valid item 3): three boxes in green; prediction: one "dog" box in red.
    assert [(p.get_label(), p.get_edgecolor()) for p in patches] == [
        ("cat", matplotlib_color(RIGHT)),
        ("cat", matplotlib_color(RIGHT)),
        ("dog", matplotlib_color(RIGHT)),
        ("dog", matplotlib_color(WRONG)),
    ]
    assert [p.get_xy() for p in patches][-1] == pytest.approx((10.0, 10.0))


def matplotlib_color(name: str) -> tuple[float, ...]:
    from matplotlib.colors import to_rgba

    return to_rgba(name)


def test_show_results_says_what_a_detection_model_must_return() -> None:
    from lamina.train.learner import Learner
    from lamina.vision.show import show_results

    dls = _dblock().dataloaders(list(BOXES), bs=2, device="cpu", seed=0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.LazyLinear(4))
    learn = Learner(dls, model, loss_func=lambda *args: torch.zeros(()))
    with pytest.raises(ValueError, match=r"needs a model returning \(boxes \(B, M, 4\)"):
        show_results(learn, max_n=1)


def test_images_carrying_boxes_decode_at_full_size() -> None:
    block = ImageBlock()
    assert block.type_tfms_for([Resize(32)], ("image", "category"))[0].draft_size == (32, 32)
    assert block.type_tfms_for([Resize(32)], ("image", "bbox", "bbox_label"))[0].draft_size is None
