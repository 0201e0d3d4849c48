"""Which format a dataset upload is in, and what it holds.

Detection looks at what was uploaded, most specific first: COCO JSON files,
then YOLO (a data.yaml or label files where Ultralytics puts them), then Pascal
VOC XML files, then class folders (optionally under split folders), else a flat
folder of images. Pure: files are read through the `read` callback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from bananabatch.datasets.coco import coco_candidates, load_coco, read_coco
from bananabatch.datasets.model import (
    Analysis,
    ClassInfo,
    ImageSize,
    ItemLabels,
    LabelFormat,
    split_role,
)
from bananabatch.datasets.paths import folders
from bananabatch.datasets.voc import parse_xml, read_voc, voc_xml_files
from bananabatch.datasets.yolo import looks_like_yolo, read_yolo

log = logging.getLogger(__name__)

Reader = Callable[[str], bytes]
MAX_VOC_PROBES = 20


def analyse(images: Sequence[ImageSize], label_files: Sequence[str], read: Reader) -> Analysis:
    """Detect the format of a dataset and read its labels."""
    files = set(label_files)
    docs = {}
    for path in coco_candidates(label_files):
        doc = load_coco(path, read)
        if doc is not None:
            docs[path] = doc
    if docs:
        return read_coco(images, docs, files)
    if looks_like_yolo(images, files):
        return read_yolo(images, files, read)
    xmls = voc_xml_files(label_files)
    if any(parse_xml(read(p)) is not None for p in xmls[:MAX_VOC_PROBES]):
        return read_voc(images, files, read)
    return read_folders(images)


def read_folders(images: Sequence[ImageSize]) -> Analysis:
    """Class folders (`cat/1.jpg`, or `train/cat/1.jpg` under split folders), or a
    flat folder of images when there is no class level."""
    items: dict[str, ItemLabels] = {}
    classes: set[str] = set()
    for image in images:
        parts = folders(image.rel_path)
        split = parts[0] if parts and split_role(parts[0]) is not None else None
        class_parts = parts[1:] if split is not None else parts
        name = class_parts[0] if class_parts else None
        if name is not None:
            classes.add(name)
        items[image.rel_path] = ItemLabels(split=split, class_name=name)
    if not classes:
        return Analysis(format=LabelFormat.images, items=items)
    names = sorted(classes)
    return Analysis(
        format=LabelFormat.folders,
        task="classify",
        classes=[ClassInfo(id=i, name=n, source_id=n) for i, n in enumerate(names)],
        items=items,
    )
