"""COCO datasets: `annotations/*.json` (instances_train2017.json, ...) or Roboflow's
`<split>/_annotations.coco.json` with the images beside it.

Each JSON file is one split. Its structure is checked record by record (images
that are not in the upload, annotations naming an image id the file does not
list, unknown categories, boxes outside their image); records that pass become
boxes and polygons through supervision's COCO reader. Category ids and names
are kept as they came, so an export writes the same ids back."""

from __future__ import annotations

import json
import logging
import posixpath
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import supervision as sv
from supervision.dataset.formats.coco import coco_annotations_to_detections

from bananabatch.datasets.model import (
    Analysis,
    ClassInfo,
    ImageSize,
    ItemLabels,
    LabelFormat,
    LabelObject,
    Problem,
    split_role,
)
from bananabatch.datasets.paths import ImageIndex, split_of

log = logging.getLogger(__name__)

Reader = Callable[[str], bytes]
EDGE_TOLERANCE = 1.0  # pixels a box may overshoot its image (rounding in exporters)
MAX_RECORD_MESSAGES = 5


def coco_candidates(files: Sequence[str]) -> list[str]:
    """JSON files that may be COCO: Roboflow's name, or any JSON in `annotations/`
    or at the top level."""
    out = []
    for f in files:
        if not f.lower().endswith(".json"):
            continue
        name = posixpath.basename(f).lower()
        if name.endswith(".coco.json") or "annotations" in f.split("/")[:-1] or "/" not in f:
            out.append(f)
    return sorted(out)


def load_coco(path: str, read: Reader) -> dict[str, Any] | None:
    """The parsed document when it is a COCO file (images + annotations lists)."""
    try:
        doc = json.loads(read(path))
    except (ValueError, UnicodeDecodeError):
        return None
    is_coco = isinstance(doc, dict) and isinstance(doc.get("images"), list)
    return doc if is_coco and isinstance(doc.get("annotations"), list) else None


def split_for_json(path: str) -> str | None:
    """`train/_annotations.coco.json` -> train; `annotations/instances_val2017.json`
    -> val2017's split name `val`."""
    folder_split = split_of(path)
    if folder_split is not None:
        return folder_split
    stem = posixpath.splitext(posixpath.basename(path))[0].lower()
    for token in stem.replace("-", "_").split("_"):
        bare = token.rstrip("0123456789")
        if split_role(bare) is not None:
            return bare
    return None


def _root_for(json_path: str) -> str:
    """Where a COCO file's `file_name`s start: beside it, or above `annotations/`."""
    near = posixpath.dirname(json_path)
    if "annotations" in near.split("/"):
        near = posixpath.dirname(near)
    return near


def resolve_file_name(
    index: ImageIndex, name: str, json_path: str, split: str | None
) -> str | None:
    """The dataset image a COCO `file_name` of this file means, if any."""
    found = index.find(name, near=posixpath.dirname(json_path), split=split)
    return found or index.find(name, near=_root_for(json_path), split=split)


def images_by_path(
    doc: dict[str, Any], json_path: str, index: ImageIndex
) -> dict[str, dict[str, Any]]:
    """Dataset path -> the file's image record, for the records that resolve."""
    split = split_for_json(json_path)
    out: dict[str, dict[str, Any]] = {}
    for record in doc.get("images") or []:
        if isinstance(record, dict):
            rel = resolve_file_name(index, str(record.get("file_name", "")), json_path, split)
            if rel is not None:
                out[rel] = record
    return out


@dataclass
class _Collector:
    problems: list[Problem] = field(default_factory=list)
    messages: dict[str, list[str]] = field(default_factory=dict)

    def note(self, path: str, message: str) -> None:
        self.messages.setdefault(path, []).append(message)

    def flush(self) -> None:
        for path, messages in self.messages.items():
            shown = "; ".join(messages[:MAX_RECORD_MESSAGES])
            more = len(messages) - MAX_RECORD_MESSAGES
            suffix = f" (and {more} more)" if more > 0 else ""
            self.problems.append(Problem(path, "bad_annotation", f"{path}: {shown}{suffix}."))
        self.messages.clear()


def _categories(
    docs: dict[str, dict[str, Any]], out: _Collector
) -> tuple[list[ClassInfo], dict[int, int]]:
    """Classes across every file, ordered by category id, and category id -> class id."""
    names: dict[int, str] = {}
    for path, doc in docs.items():
        for cat in doc.get("categories") or []:
            if not isinstance(cat, dict) or not isinstance(cat.get("id"), int):
                out.note(path, f"a category without an integer id ({str(cat)[:60]})")
                continue
            name = str(cat.get("name", cat["id"]))
            if names.setdefault(cat["id"], name) != name:
                out.note(
                    path,
                    f"category {cat['id']} is {name!r} here but "
                    f"{names[cat['id']]!r} in another file",
                )
    ordered = sorted(names)
    classes = [ClassInfo(id=i, name=names[c], source_id=c) for i, c in enumerate(ordered)]
    return classes, {c: i for i, c in enumerate(ordered)}


def _objects(
    anns: list[dict[str, Any]], size: ImageSize, class_index: dict[int, int]
) -> list[LabelObject]:
    detections = coco_annotations_to_detections(anns, (size.width, size.height), with_masks=False)
    objects = []
    for k, ann in enumerate(anns):
        x1, y1, x2, y2 = (float(v) for v in detections.xyxy[k])
        box = (max(0.0, x1), max(0.0, y1), min(size.width, x2), min(size.height, y2))
        seg = ann.get("segmentation")
        polygons: tuple[tuple[float, ...], ...] = ()
        if isinstance(seg, list) and seg and isinstance(seg[0], list):
            polygons = tuple(tuple(float(v) for v in p) for p in seg if len(p) >= 6)
        elif isinstance(seg, dict):  # RLE: decode with supervision, keep polygons
            masks = coco_annotations_to_detections([ann], (size.width, size.height), True).mask
            if masks is not None and len(masks):
                polygons = tuple(
                    tuple(float(v) for v in poly.reshape(-1))
                    for poly in sv.mask_to_polygons(masks[0])
                )
        objects.append(
            LabelObject(class_id=class_index[int(ann["category_id"])], bbox=box, polygons=polygons)
        )
    return objects


def _check_annotation(
    ann: Any, images: dict[int, ImageSize | None], class_index: dict[int, int]
) -> str | None:
    if not isinstance(ann, dict):
        return "an annotation that is not an object"
    aid = ann.get("id", "?")
    image_id = ann.get("image_id")
    if image_id not in images:
        return f"annotation {aid} names image id {image_id}, which the file does not list"
    if ann.get("category_id") not in class_index:
        return f"annotation {aid} names category {ann.get('category_id')}, which is not defined"
    bbox = ann.get("bbox")
    if not (
        isinstance(bbox, list) and len(bbox) == 4 and all(isinstance(v, int | float) for v in bbox)
    ):
        return f"annotation {aid} has no [x, y, width, height] bbox"
    x, y, w, h = (float(v) for v in bbox)
    if w < 0 or h < 0:
        return f"annotation {aid} has a negative width or height"
    size = images[image_id]
    if size is not None and (
        x < -EDGE_TOLERANCE or y < -EDGE_TOLERANCE
        or x + w > size.width + EDGE_TOLERANCE or y + h > size.height + EDGE_TOLERANCE
    ):  # fmt: skip
        return f"annotation {aid}'s box reaches outside its {size.width}x{size.height} image"
    return None


def read_coco(
    images: Sequence[ImageSize], docs: dict[str, dict[str, Any]], files: set[str]
) -> Analysis:
    out = _Collector()
    classes, class_index = _categories(docs, out)
    by_path = {i.rel_path: i for i in images}
    index = ImageIndex(by_path)
    items: dict[str, ItemLabels] = {}
    layout_files: dict[str, dict[str, Any]] = {}
    polygons = 0
    for path, doc in docs.items():
        split = split_for_json(path)
        near = _root_for(path)
        ids: dict[int, ImageSize | None] = {}
        rel_for_id: dict[int, str] = {}
        image_dirs: dict[str, int] = {}
        for record in doc["images"]:
            if not isinstance(record, dict) or not isinstance(record.get("id"), int):
                out.note(path, f"an image record without an integer id ({str(record)[:60]})")
                continue
            name = str(record.get("file_name", ""))
            rel = resolve_file_name(index, name, path, split)
            if rel is None:
                out.note(
                    path,
                    f"image {name!r} (id {record['id']}) is not in the upload; "
                    "its annotations are left out",
                )
                ids[record["id"]] = None
                continue
            size = by_path[rel]
            if (record.get("width"), record.get("height")) not in (
                (size.width, size.height), (None, None),
            ):  # fmt: skip
                out.note(
                    path,
                    f"image {name!r} is {record.get('width')}x{record.get('height')} "
                    f"in the file but {size.width}x{size.height} uploaded",
                )
            ids[record["id"]] = size
            rel_for_id[record["id"]] = rel
            image_dirs[posixpath.dirname(rel)] = image_dirs.get(posixpath.dirname(rel), 0) + 1
        per_image: dict[int, list[dict[str, Any]]] = {i: [] for i in rel_for_id}
        bad_images: set[int] = set()
        for ann in doc["annotations"]:
            why = _check_annotation(ann, ids, class_index)
            if why is not None:
                out.note(path, why)
                if isinstance(ann, dict) and ann.get("image_id") in rel_for_id:
                    bad_images.add(ann["image_id"])
                continue
            if ann["image_id"] in per_image:
                per_image[ann["image_id"]].append(ann)
        for image_id, rel in rel_for_id.items():
            found = by_path[rel]
            objects = (
                _objects(per_image[image_id], found, class_index) if per_image[image_id] else []
            )
            polygons += sum(1 for o in objects if o.polygons)
            items[rel] = ItemLabels(
                split=split or split_of(rel),
                label_path=path,
                objects=tuple(objects),
                problem=image_id in bad_images,
            )
        image_dir = max(image_dirs, key=lambda d: image_dirs[d]) if image_dirs else near
        layout_files[path] = {"split": split, "image_dir": image_dir}
        out.flush()
    for image in images:
        if image.rel_path not in items:
            items[image.rel_path] = ItemLabels(split=split_of(image.rel_path))
    return Analysis(
        format=LabelFormat.coco,
        task="segment" if polygons else "detect",
        classes=classes,
        items=items,
        problems=out.problems,
        layout={"files": layout_files},
    )
