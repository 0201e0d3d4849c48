"""Labelled datasets: detecting and reading class folders, YOLO, COCO and Pascal VOC
(pure; the DB side is `datasets.service`)."""

from bananabatch.datasets.analyse import analyse, read_folders
from bananabatch.datasets.model import (
    GEOMETRIC_FORMATS,
    Analysis,
    ClassInfo,
    ImageSize,
    ItemLabels,
    LabelFormat,
    LabelObject,
    Problem,
    default_splits,
    is_label_file,
    objects_from_json,
    objects_to_json,
    split_role,
)

__all__ = [
    "GEOMETRIC_FORMATS",
    "Analysis",
    "ClassInfo",
    "ImageSize",
    "ItemLabels",
    "LabelFormat",
    "LabelObject",
    "Problem",
    "analyse",
    "default_splits",
    "is_label_file",
    "objects_from_json",
    "objects_to_json",
    "read_folders",
    "split_role",
]
