"""YOLO detection and segmentation datasets (Ultralytics layout `images/<split>/`
+ `labels/<split>/` + `data.yaml`, or `<split>/images` + `<split>/labels`).

Every line is checked before it is trusted (value count, numbers, class id within
`names`, coordinates normalised to [0, 1] and inside the image); lines that pass
are turned into boxes by supervision's own YOLO reader. A label file with any
bad line marks its image as a problem: the image is exported as it came and is
not augmented."""

from __future__ import annotations

import logging
import math
import posixpath
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import yaml
from supervision.dataset.formats.yolo import yolo_annotations_to_detections

from bananabatch.datasets.model import (
    Analysis,
    ClassInfo,
    ImageSize,
    ItemLabels,
    LabelFormat,
    LabelObject,
    Problem,
)
from bananabatch.datasets.paths import split_of, yolo_label_path

log = logging.getLogger(__name__)

YAML_NAMES = ("data.yaml", "data.yml", "dataset.yaml", "dataset.yml")
TOLERANCE = 1e-3
"""Normalised coordinates may overshoot [0, 1] by rounding; beyond this they are wrong."""
MAX_LINE_MESSAGES = 3

Reader = Callable[[str], bytes]


def find_data_yaml(files: Sequence[str]) -> str | None:
    """The dataset's YAML: a conventional name at the shallowest depth, else any
    top-level YAML."""
    yamls = [f for f in files if f.lower().endswith((".yaml", ".yml"))]
    named = [f for f in yamls if posixpath.basename(f).lower() in YAML_NAMES]
    pool = named or [f for f in yamls if "/" not in f]
    return min(pool, key=lambda p: (p.count("/"), p)) if pool else None


def looks_like_yolo(images: Sequence[ImageSize], files: set[str]) -> bool:
    if find_data_yaml(sorted(files)) is not None:
        return True
    if not any(f.endswith(".txt") for f in files):
        return False  # every label path ends in .txt: no need to derive 25,000 of them
    return any(yolo_label_path(i.rel_path) in files for i in images)


def read_names(
    path: str, read: Reader, problems: list[Problem]
) -> tuple[list[str] | None, dict[str, Any]]:
    """Class names from data.yaml (a list, or a mapping of id -> name) and the
    whole document; (None, {}) with a problem when it cannot be used."""
    try:
        doc = yaml.safe_load(read(path).decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        problems.append(
            Problem(
                path,
                "bad_yaml",
                f"{path} is not readable YAML ({detail}); class names "
                "are shown as their ids and a new data.yaml is written on export.",
            )
        )
        return None, {}
    if not isinstance(doc, dict):
        problems.append(
            Problem(
                path,
                "bad_yaml",
                f"{path} must be a YAML mapping with `names`; class names are shown as their ids.",
            )
        )
        return None, {}
    names = doc.get("names")
    if isinstance(names, list) and all(isinstance(n, str | int) for n in names):
        return [str(n) for n in names], doc
    if isinstance(names, dict):
        try:
            indexed = {int(k): str(v) for k, v in names.items()}
        except (TypeError, ValueError):
            indexed = {}
        if indexed and sorted(indexed) == list(range(len(indexed))):
            return [indexed[i] for i in range(len(indexed))], doc
    problems.append(
        Problem(
            path,
            "bad_yaml",
            f"{path} has no usable `names` (a list, or ids 0..n-1 "
            "mapped to names); class names are shown as their ids.",
        )
    )
    return None, doc


def _check_line(values: list[str], n_classes: int | None) -> str | None:
    """Why a label line cannot be used, or None."""
    if len(values) < 5:
        return (
            f"{len(values)} values; a YOLO line is `class x_center y_center width height` "
            "or `class x1 y1 x2 y2 x3 y3 ...` for a polygon"
        )
    if len(values) > 5 and (len(values) - 1) % 2:
        return f"a polygon needs x y pairs, found {len(values) - 1} coordinates"
    try:
        class_id = int(values[0])
    except ValueError:
        return f"class id {values[0]!r} is not a whole number"
    if class_id < 0 or (n_classes is not None and class_id >= n_classes):
        return (
            f"class id {class_id} is not in data.yaml's names (ids 0-{n_classes - 1})"
            if n_classes
            else f"class id {class_id} is negative"
        )
    try:
        coords = [float(v) for v in values[1:]]
    except ValueError:
        bad = next(v for v in values[1:] if not _is_float(v))
        return f"{bad!r} is not a number"
    if not all(math.isfinite(c) for c in coords):
        return "a coordinate is not a finite number"
    if any(c < -TOLERANCE or c > 1 + TOLERANCE for c in coords):
        worst = max(coords, key=lambda c: abs(c - 0.5))
        return f"coordinates must be normalised to [0, 1]; found {worst:g}"
    if len(values) == 5:
        xc, yc, w, h = coords
        if w <= 0 or h <= 0:
            return "the box has no width or height"
        if (
            xc - w / 2 < -TOLERANCE
            or xc + w / 2 > 1 + TOLERANCE
            or (yc - h / 2 < -TOLERANCE or yc + h / 2 > 1 + TOLERANCE)
        ):
            return "the box reaches outside the image"
    return None


def _is_float(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def parse_label_text(
    text: str, width: int, height: int, n_classes: int | None
) -> tuple[list[LabelObject], list[str], int]:
    """(objects, line problems, highest class id) of one label file."""
    good: list[str] = []
    polygons: list[tuple[float, ...]] = []
    messages: list[str] = []
    top = -1
    for number, line in enumerate(text.splitlines(), start=1):
        values = line.split()
        if not values:
            continue
        why = _check_line(values, n_classes)
        if why is not None:
            messages.append(f"line {number}: {why}")
            continue
        good.append(" ".join(values))
        top = max(top, int(values[0]))
        if len(values) > 5:
            flat = np.array([float(v) for v in values[1:]], dtype=np.float64)
            flat = np.clip(flat, 0.0, 1.0) * np.tile([width, height], len(flat) // 2)
            polygons.append(tuple(float(v) for v in flat))
        else:
            polygons.append(())
    if not good:
        return [], messages, top
    detections = yolo_annotations_to_detections(good, (width, height), with_masks=False)
    objects = []
    for (x1, y1, x2, y2), class_id, poly in zip(
        detections.xyxy,
        detections.class_id if detections.class_id is not None else [],
        polygons,
        strict=True,
    ):
        box = (
            float(max(0.0, x1)), float(max(0.0, y1)),
            float(min(width, x2)), float(min(height, y2)),
        )  # fmt: skip
        objects.append(
            LabelObject(class_id=int(class_id), bbox=box, polygons=(poly,) if poly else ())
        )
    return objects, messages, top


def _file_problem(path: str, messages: list[str]) -> Problem:
    shown = "; ".join(messages[:MAX_LINE_MESSAGES])
    more = (
        f" (and {len(messages) - MAX_LINE_MESSAGES} more)"
        if len(messages) > MAX_LINE_MESSAGES
        else ""
    )
    return Problem(
        path, "bad_label", f"{path}: {shown}{more}. The image is kept as it is and not augmented."
    )


def read_yolo(images: Sequence[ImageSize], files: set[str], read: Reader) -> Analysis:
    problems: list[Problem] = []
    yaml_path = find_data_yaml(sorted(files))
    names: list[str] | None = None
    doc: dict[str, Any] = {}
    if yaml_path is not None:
        names, doc = read_names(yaml_path, read, problems)
    n_classes = len(names) if names is not None else None

    items: dict[str, ItemLabels] = {}
    used_labels: set[str] = set()
    top_id = -1
    polygons = 0
    for image in images:
        label_path = yolo_label_path(image.rel_path)
        split = split_of(image.rel_path)
        if label_path not in files:
            items[image.rel_path] = ItemLabels(split=split, label_path=label_path)
            continue
        used_labels.add(label_path)
        try:
            text = read(label_path).decode("utf-8")
        except UnicodeDecodeError:
            problems.append(
                Problem(
                    label_path,
                    "bad_label",
                    f"{label_path} is not UTF-8 text; "
                    "the image is kept as it is and not augmented.",
                )
            )
            items[image.rel_path] = ItemLabels(
                split=split, label_path=label_path, objects=(), problem=True
            )
            continue
        objects, messages, top = parse_label_text(text, image.width, image.height, n_classes)
        top_id = max(top_id, top)
        polygons += sum(1 for o in objects if o.polygons)
        if messages:
            problems.append(_file_problem(label_path, messages))
        items[image.rel_path] = ItemLabels(
            split=split, label_path=label_path, objects=tuple(objects), problem=bool(messages)
        )

    for orphan in sorted(f for f in files if f.endswith(".txt") and "labels" in f.split("/")):
        if orphan not in used_labels:
            problems.append(
                Problem(
                    orphan,
                    "orphan_label",
                    f"{orphan}: no image for this label "
                    "file (expected it under images/ with the same name).",
                )
            )

    if names is None:
        names = [str(i) for i in range(top_id + 1)]
    return Analysis(
        format=LabelFormat.yolo,
        task="segment" if polygons else "detect",
        classes=[ClassInfo(id=i, name=n, source_id=i) for i, n in enumerate(names)],
        items=items,
        problems=problems,
        layout={"data_yaml": yaml_path, "yaml_ok": bool(doc) and n_classes is not None},
    )
