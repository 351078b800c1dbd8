"""Reading COCO-style object-detection annotations (a JSON file of images, boxes and categories).

The file holds `images` (`{"id", "file_name", ...}`), `annotations` (`{"image_id", "bbox":
[x, y, width, height], "category_id", ...}`) and `categories` (`{"id", "name"}`).
`get_annotations` turns it into what `BBoxBlock` and `BBoxLblBlock` read: per image, its boxes as
`[x0, y0, x1, y1]` pixel edges and the names of their categories.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

Boxes = list[list[float]]


class AnnotationError(ValueError):
    """A COCO annotation file is malformed; the message names the file and the entry at fault."""


def get_annotations(
    json_path: str | os.PathLike, prefix: str = "", keep_empty: bool = True
) -> tuple[list[str], list[tuple[Boxes, list[str]]]]:
    """Image file names and, for each, its `(boxes, labels)` from a COCO annotation file.

    Args:
        json_path: the COCO JSON file.
        prefix: put before each file name (e.g. the images' folder).
        keep_empty: keep the images without any annotation (with empty box and label lists);
            False keeps only annotated images, as far as the file lists them.

    Returns:
        `(file_names, annotations)`, in the order of the file's `images`: `annotations[i]` is
        `(boxes, labels)` for `file_names[i]`, boxes as `[x0, y0, x1, y1]` (x1 = x + width) in
        the order the annotations appear, labels the category names.

    Raises:
        AnnotationError: the file is not JSON, or an entry lacks a key, has a negative size, or
            refers to an image or category that is not listed; the message names the file and
            the entry.

    Example:
        >>> files, annotations = get_annotations(path / "train.json")
        >>> lookup = dict(zip(files, annotations))
        >>> dblock = DataBlock(
        ...     blocks=(ImageBlock, BBoxBlock, BBoxLblBlock), n_inp=1,
        ...     get_items=lambda _: [path / "train" / f for f in files],
        ...     get_y=[lambda p: lookup[p.name][0], lambda p: lookup[p.name][1]])
    """
    path = Path(json_path)
    data = _read_json(path)
    where = str(path)
    names = {}
    for index, category in enumerate(_list(data, "categories", where)):
        entry = f"{where}: categories[{index}]"
        names[_key(category, "id", entry)] = str(_key(category, "name", entry))
    files: dict[Any, str] = {}
    for index, image in enumerate(_list(data, "images", where)):
        entry = f"{where}: images[{index}]"
        image_id = _key(image, "id", entry)
        if image_id in files:
            raise AnnotationError(f"{entry}: image id {image_id!r} is listed twice")
        files[image_id] = str(_key(image, "file_name", entry))
    found: dict[Any, tuple[Boxes, list[str]]] = {image_id: ([], []) for image_id in files}
    for index, annotation in enumerate(_list(data, "annotations", where)):
        entry = f"{where}: annotations[{index}]"
        image_id = _key(annotation, "image_id", entry)
        if image_id not in files:
            raise AnnotationError(
                f"{entry}: image_id {image_id!r} is not among the file's images (ids such as "
                f"{list(files)[:5]!r})"
            )
        category_id = _key(annotation, "category_id", entry)
        if category_id not in names:
            raise AnnotationError(
                f"{entry}: category_id {category_id!r} is not among the file's categories "
                f"({sorted(names, key=str)[:10]!r})"
            )
        boxes, labels = found[image_id]
        boxes.append(_corners(_key(annotation, "bbox", entry), entry))
        labels.append(names[category_id])
    kept = [image_id for image_id in files if keep_empty or found[image_id][0]]
    return [prefix + files[i] for i in kept], [found[i] for i in kept]


def _read_json(path: Path) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        raise AnnotationError(f"{path}: no such annotation file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise AnnotationError(f"{path}: not a JSON file: {error}") from None
    if not isinstance(data, dict):
        raise AnnotationError(
            f"{path}: expected a JSON object with 'images', 'annotations' and 'categories', "
            f"got a {type(data).__name__}"
        )
    return data


def _list(data: dict[str, Any], key: str, where: str) -> list[Any]:
    if key not in data:
        raise AnnotationError(
            f"{where}: no {key!r} list; a COCO file holds 'images', 'annotations' and 'categories'"
        )
    value = data[key]
    if not isinstance(value, list):
        raise AnnotationError(f"{where}: {key!r} must be a list, got {type(value).__name__}")
    return value


def _key(entry: Any, key: str, where: str) -> Any:
    if not isinstance(entry, dict):
        raise AnnotationError(f"{where}: expected a JSON object, got {entry!r}")
    if key not in entry:
        raise AnnotationError(f"{where}: missing key {key!r} (has {sorted(entry)!r})")
    return entry[key]


def _corners(bbox: Any, where: str) -> list[float]:
    """COCO's [x, y, width, height] -> [x0, y0, x1, y1], checked."""
    valid = isinstance(bbox, list) and len(bbox) == 4
    if valid:
        try:
            x, y, width, height = (float(v) for v in bbox)
        except (TypeError, ValueError):
            valid = False
    if not valid:
        raise AnnotationError(f"{where}: bbox must be [x, y, width, height] numbers, got {bbox!r}")
    if width < 0 or height < 0:
        raise AnnotationError(
            f"{where}: bbox {bbox!r} has a negative width or height; COCO boxes are "
            "[x, y, width, height] with the top-left corner first"
        )
    return [x, y, x + width, y + height]
