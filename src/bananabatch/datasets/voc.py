"""Pascal VOC datasets: one XML per image, beside it or in `Annotations/` next to
`JPEGImages/`; splits from split folders or `ImageSets/Main/<split>.txt` lists.

Each XML is read by supervision's VOC reader; an object without a box, a box
outside the image or an unreadable file is a per-file problem. Class ids follow
the sorted class names (VOC names classes, it has no ids)."""

from __future__ import annotations

import logging
import posixpath
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence

from supervision.dataset.formats.pascal_voc import detections_from_xml_obj

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
from bananabatch.datasets.paths import split_of, stem, voc_label_candidates

log = logging.getLogger(__name__)

Reader = Callable[[str], bytes]
MAX_XML_BYTES = 4 * 1024 * 1024
EDGE_TOLERANCE = 1.0


def parse_xml(data: bytes) -> ET.Element | None:
    """The `<annotation>` root, or None for anything else. Document type
    declarations are refused outright (no entity expansion of any kind)."""
    if len(data) > MAX_XML_BYTES or b"<!DOCTYPE" in data[:4096].upper():
        return None
    try:
        root = ET.fromstring(data)
    except ET.ParseError:
        return None
    return root if root.tag == "annotation" else None


def voc_xml_files(files: Sequence[str]) -> list[str]:
    return sorted(f for f in files if f.lower().endswith(".xml"))


def _image_sets(files: set[str], read: Reader) -> dict[str, str]:
    """Image stem -> split from `ImageSets/Main/<split>.txt` (`trainval` is skipped:
    it repeats train and val)."""
    out: dict[str, str] = {}
    for path in sorted(files):
        parts = path.split("/")
        if len(parts) < 3 or parts[-3:-1] != ["ImageSets", "Main"] or not path.endswith(".txt"):
            continue
        split = posixpath.splitext(parts[-1])[0]
        if split_role(split) is None:
            continue
        for line in read(path).decode("utf-8", "replace").splitlines():
            if line.split():
                out.setdefault(line.split()[0], split)
    return out


def _xml_for(image: ImageSize, xmls: set[str]) -> str | None:
    for candidate in voc_label_candidates(image.rel_path):
        if candidate in xmls:
            return candidate
    return None


def read_voc(images: Sequence[ImageSize], files: set[str], read: Reader) -> Analysis:
    problems: list[Problem] = []
    xmls = {f for f in files if f.lower().endswith(".xml")}
    roots: dict[str, ET.Element] = {}
    for path in sorted(xmls):
        root = parse_xml(read(path))
        if root is None:
            problems.append(
                Problem(
                    path,
                    "bad_label",
                    f"{path} is not a readable Pascal VOC "
                    "<annotation> file; its image is kept as it is and not augmented.",
                )
            )
        else:
            roots[path] = root
    names = sorted({(o.findtext("name") or "").strip() for r in roots.values()
                    for o in r.findall("object")} - {""})  # fmt: skip
    sets = _image_sets(files, read)
    items: dict[str, ItemLabels] = {}
    used: set[str] = set()
    for image in images:
        split = split_of(image.rel_path) or sets.get(stem(image.rel_path))
        xml_path = _xml_for(image, xmls)
        if xml_path is None:
            items[image.rel_path] = ItemLabels(split=split)
            continue
        used.add(xml_path)
        root = roots.get(xml_path)
        if root is None:
            items[image.rel_path] = ItemLabels(split, xml_path, objects=(), problem=True)
            continue
        objects, why = _objects(root, image, names)
        if why:
            problems.append(
                Problem(
                    xml_path,
                    "bad_label",
                    f"{xml_path}: {why}. The image is kept as it is and not augmented.",
                )
            )
        items[image.rel_path] = ItemLabels(
            split, xml_path, objects=tuple(objects), problem=bool(why)
        )
    for orphan in sorted(set(roots) - used):
        problems.append(
            Problem(
                orphan,
                "orphan_label",
                f"{orphan}: no image with this name beside it or in JPEGImages/.",
            )
        )
    layout_sets = sorted({s for s in sets.values()})
    return Analysis(
        format=LabelFormat.voc,
        task="detect",
        classes=[ClassInfo(id=i, name=n, source_id=n) for i, n in enumerate(names)],
        items=items,
        problems=problems,
        layout={"image_sets": layout_sets},
    )


def _objects(root: ET.Element, image: ImageSize, names: list[str]) -> tuple[list[LabelObject], str]:
    try:
        detections, _ = detections_from_xml_obj(root, names, (image.width, image.height))
    except ValueError as exc:
        return [], str(exc).rstrip(".")
    objects: list[LabelObject] = []
    for (x1, y1, x2, y2), class_id in zip(
        detections.xyxy, detections.class_id if detections.class_id is not None else [], strict=True
    ):
        if (
            x1 < -EDGE_TOLERANCE
            or y1 < -EDGE_TOLERANCE
            or (x2 > image.width + EDGE_TOLERANCE or y2 > image.height + EDGE_TOLERANCE)
        ):
            return [], (
                f"a {names[int(class_id)]!r} box ({x1:g}, {y1:g}, {x2:g}, {y2:g}) reaches "
                f"outside the {image.width}x{image.height} image"
            )
        box = (max(0.0, float(x1)), max(0.0, float(y1)),
               min(float(image.width), float(x2)), min(float(image.height), float(y2)))  # fmt: skip
        objects.append(LabelObject(class_id=int(class_id), bbox=box))
    return objects, ""
