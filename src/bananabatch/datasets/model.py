"""What a labelled dataset is once read: formats, splits, classes, per-image labels
and per-file problems. Pure data, JSON round-trippable (it is cached on the
dataset row and shown to the user before a job starts).

Coordinates are always pixels of the image as stored (x1, y1, x2, y2 boxes and
flat x, y polygon lists); class ids are 0-based indexes into `Analysis.classes`,
whatever ids the source format used (`ClassInfo.source_id` keeps those).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

MAX_LISTED = 500
"""Problems and unlabelled paths kept in a summary; the counts stay exact beyond it."""


class LabelFormat(StrEnum):
    images = "images"  # no labels at all: a flat folder of images
    folders = "folders"  # one sub-folder per class (classification)
    yolo = "yolo"
    coco = "coco"
    voc = "voc"


GEOMETRIC_FORMATS = frozenset({LabelFormat.yolo, LabelFormat.coco, LabelFormat.voc})
"""Formats whose labels are positions in the image: they move with geometric edits."""

LABEL_FILE_EXTENSIONS = frozenset({"txt", "json", "xml", "yaml", "yml"})
"""Files kept beside the images of a dataset upload (labels and their metadata)."""

SPLIT_ROLES: Mapping[str, str] = {
    "train": "train",
    "training": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "test": "test",
    "testing": "test",
}


def split_role(name: str | None) -> str | None:
    """`valid` -> `val`; None for a folder name that is not a split."""
    return SPLIT_ROLES.get((name or "").lower())


def is_label_file(rel_path: str) -> bool:
    return (
        rel_path.rsplit(".", 1)[-1].lower() in LABEL_FILE_EXTENSIONS if "." in rel_path else False
    )


@dataclass(frozen=True)
class ImageSize:
    """An image of the dataset as the readers need it: where it is and its pixel size."""

    rel_path: str
    width: int
    height: int


@dataclass(frozen=True)
class LabelObject:
    """One labelled object: its class, box and (for segmentation) polygons."""

    class_id: int
    bbox: tuple[float, float, float, float]
    polygons: tuple[tuple[float, ...], ...] = ()

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"class_id": self.class_id, "bbox": [round(v, 2) for v in self.bbox]}
        if self.polygons:
            data["polygons"] = [[round(v, 2) for v in poly] for poly in self.polygons]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LabelObject:
        x1, y1, x2, y2 = (float(v) for v in data["bbox"])
        polygons = tuple(tuple(float(v) for v in poly) for poly in data.get("polygons") or ())
        return cls(class_id=int(data["class_id"]), bbox=(x1, y1, x2, y2), polygons=polygons)


def objects_to_json(objects: Iterable[LabelObject]) -> list[dict[str, Any]]:
    return [o.to_json() for o in objects]


def objects_from_json(data: Iterable[Mapping[str, Any]] | None) -> tuple[LabelObject, ...]:
    return tuple(LabelObject.from_json(o) for o in data or ())


@dataclass(frozen=True)
class Problem:
    """One file the user should look at; the rest of the dataset still imports."""

    path: str
    code: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"path": self.path, "code": self.code, "message": self.message}


@dataclass(frozen=True)
class ClassInfo:
    id: int
    name: str
    source_id: int | str  # the id the dataset used (YOLO index, COCO category id, VOC name)


@dataclass(frozen=True)
class ItemLabels:
    """What the analysis found for one image.

    `objects` None: the image has no label file (in a geometric format). `problem`:
    its labels could not be read completely, so it is exported as it came and not
    augmented (an incomplete label file would teach a model wrong negatives)."""

    split: str | None
    label_path: str | None = None
    objects: tuple[LabelObject, ...] | None = None
    class_name: str | None = None  # class folders
    problem: bool = False


@dataclass
class Analysis:
    """A dataset as read: its format and layout, and what was found per image."""

    format: LabelFormat
    task: str | None = None  # detect | segment | classify
    classes: list[ClassInfo] = field(default_factory=list)
    items: dict[str, ItemLabels] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    layout: dict[str, Any] = field(default_factory=dict)
    """Format details the exporter needs to write the same layout back (data.yaml
    path and keys, COCO files per split, where VOC files sit)."""

    @property
    def geometric(self) -> bool:
        return self.format in GEOMETRIC_FORMATS

    def class_names(self) -> list[str]:
        return [c.name for c in self.classes]

    def split_names(self) -> list[str]:
        names = {i.split for i in self.items.values() if i.split}
        return sorted(names, key=split_order)

    def summary(self) -> dict[str, Any]:
        """The JSON cached on the dataset and shown to the user."""
        counts: dict[int, int] = {}
        folder_counts: dict[str, int] = {}
        splits: dict[str, dict[str, int]] = {}
        unlabelled: list[str] = []
        problem_images = 0
        for path, item in sorted(self.items.items()):
            entry = splits.setdefault(item.split or "", {"images": 0, "labelled": 0, "objects": 0})
            entry["images"] += 1
            if item.problem:
                problem_images += 1
            if item.objects is not None:
                entry["labelled"] += 1
                entry["objects"] += len(item.objects)
                for obj in item.objects:
                    counts[obj.class_id] = counts.get(obj.class_id, 0) + 1
            elif item.class_name is not None:
                entry["labelled"] += 1
                folder_counts[item.class_name] = folder_counts.get(item.class_name, 0) + 1
            elif self.geometric:
                unlabelled.append(path)
        classes = [
            {
                "id": c.id,
                "name": c.name,
                "source_id": c.source_id,
                "count": counts.get(c.id, 0) if self.geometric else folder_counts.get(c.name, 0),
            }
            for c in self.classes
        ]
        return {
            "format": self.format.value,
            "task": self.task,
            "classes": classes,
            "splits": [
                {"name": name, **values}
                for name, values in sorted(splits.items(), key=lambda kv: split_order(kv[0]))
            ],
            "unlabelled_count": len(unlabelled),
            "unlabelled": unlabelled[:MAX_LISTED],
            "problem_count": len(self.problems),
            "problem_images": problem_images,
            "problems": [p.to_json() for p in self.problems[:MAX_LISTED]],
            "layout": self.layout,
        }


def split_order(name: str) -> tuple[int, str]:
    """Sort key: train, val, test, then other splits by name."""
    order = {"train": 0, "val": 1, "test": 2}
    return order.get(split_role(name) or "", 3), name


def default_splits(split_names: Sequence[str]) -> list[str]:
    """Which splits a job augments unless told otherwise: the training split(s), or
    everything when the dataset has no recognised training split."""
    train = [s for s in split_names if split_role(s) == "train"]
    return train or list(split_names)
