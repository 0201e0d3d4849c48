"""Label files for generated images, written by supervision's own format writers
(YOLO lines, Pascal VOC XML, COCO annotation records) from our pixel labels."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import supervision as sv
import yaml
from supervision.config import COCO_RAW_SEGMENTATION
from supervision.dataset.formats.coco import detections_to_coco_annotations
from supervision.dataset.formats.pascal_voc import detections_to_pascal_voc
from supervision.dataset.formats.yolo import object_to_yolo

from bananabatch.datasets.model import LabelObject


def _detections(objects: Sequence[LabelObject]) -> sv.Detections:
    if not objects:
        return sv.Detections.empty()
    return sv.Detections(
        xyxy=np.array([o.bbox for o in objects], dtype=np.float32),
        class_id=np.array([o.class_id for o in objects], dtype=int),
    )


def yolo_text(objects: Sequence[LabelObject], size: tuple[int, int]) -> bytes:
    """One line per object (a polygon line per polygon for segmentation), normalised
    to the image size; an empty file for an image with no objects left."""
    shape = (size[1], size[0])
    lines: list[str] = []
    for obj in objects:
        xyxy = np.array(obj.bbox, dtype=np.float32)
        if obj.polygons:
            for flat in obj.polygons:
                polygon = np.asarray(flat, dtype=np.float32).reshape(-1, 2)
                lines.append(object_to_yolo(xyxy, obj.class_id, shape, polygon=polygon))
        else:
            lines.append(object_to_yolo(xyxy, obj.class_id, shape))
    return ("\n".join(lines) + "\n" if lines else "").encode()


def voc_xml(
    objects: Sequence[LabelObject], classes: list[str], filename: str, size: tuple[int, int]
) -> bytes:
    """A Pascal VOC `<annotation>` for one image."""
    text = detections_to_pascal_voc(_detections(objects), classes, filename, (size[1], size[0], 3))
    return text.encode()


def coco_records(
    objects: Sequence[LabelObject],
    image_id: int,
    first_id: int,
    category_ids: Sequence[int | str],
) -> tuple[list[dict[str, Any]], int]:
    """COCO annotation records for one image, with the dataset's own category ids
    (supervision numbers categories from 1; `category_ids[class_id]` is the real one)."""
    if not objects:
        return [], first_id
    detections = _detections(objects)
    segmentation = np.empty(len(objects), dtype=object)
    for k, obj in enumerate(objects):
        segmentation[k] = [list(p) for p in obj.polygons]
    detections.data[COCO_RAW_SEGMENTATION] = segmentation
    detections.data["iscrowd"] = np.zeros(len(objects), dtype=int)
    records, next_id = detections_to_coco_annotations(detections, image_id, first_id)
    for record, obj in zip(records, objects, strict=True):
        record["category_id"] = category_ids[obj.class_id]
        record["bbox"] = [round(float(v), 2) for v in record["bbox"]]
        record["area"] = round(float(record["area"]), 2)
        record["iscrowd"] = int(record["iscrowd"])
    return records, next_id


def coco_with_images(
    original: dict[str, Any] | None,
    additions: Sequence[tuple[dict[str, Any], Sequence[LabelObject]]],
    category_ids: Sequence[int | str],
    categories: list[dict[str, Any]],
) -> bytes:
    """A COCO document: the original's records (all of them, kept as they were) plus
    an image record and annotations for each addition, numbered after the largest
    ids in use. `original` None writes only the additions (originals left out)."""
    doc: dict[str, Any] = dict(original) if original else {"categories": categories}
    images = list(doc.get("images") or []) if original else []
    annotations = list(doc.get("annotations") or []) if original else []
    next_image = 1 + max((int(i["id"]) for i in images if isinstance(i.get("id"), int)), default=0)
    next_ann = 1 + max(
        (int(a["id"]) for a in annotations if isinstance(a.get("id"), int)), default=0
    )
    for record, objects in additions:
        images.append({**record, "id": next_image})
        made, next_ann = coco_records(objects, next_image, next_ann, category_ids)
        annotations.extend(made)
        next_image += 1
    doc["images"] = images
    doc["annotations"] = annotations
    return json.dumps(doc, ensure_ascii=False).encode()


def data_yaml(names: list[str], splits: dict[str, str]) -> bytes:
    """A YOLO data.yaml (when the dataset's own was missing or unreadable)."""
    doc: dict[str, Any] = {"path": ".", **splits, "nc": len(names), "names": dict(enumerate(names))}
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True).encode()
