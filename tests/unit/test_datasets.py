"""Reading labelled datasets (pure): format detection, splits, classes, boxes and
polygons, and bad datasets as clear per-file problems while the rest still reads."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from bananabatch.datasets import Analysis, ImageSize, LabelFormat, analyse, default_splits
from tests import labelled


def read(built: labelled.Built) -> Analysis:
    images, files = [], []
    for rel, data in built.files.items():
        if rel.endswith(".jpg"):
            with Image.open(io.BytesIO(data)) as im:
                images.append(ImageSize(rel, im.width, im.height))
        else:
            files.append(rel)
    return analyse(images, files, lambda p: built.files[p])


def boxes(analysis: Analysis, rel: str) -> list[tuple[int, tuple[int, ...]]]:
    objects = analysis.items[rel].objects
    assert objects is not None
    return [(o.class_id, tuple(round(v) for v in o.bbox)) for o in objects]


def expected_boxes(built: labelled.Built, rel: str) -> list[tuple[int, tuple[int, ...]]]:
    return [(r.class_id, r.box) for r in built.photos[rel].regions]


@pytest.mark.parametrize(
    ("builder", "fmt", "task"),
    [
        (lambda: labelled.yolo(), LabelFormat.yolo, "detect"),
        (lambda: labelled.yolo(layout="split_first"), LabelFormat.yolo, "detect"),
        (lambda: labelled.yolo(polygons=True), LabelFormat.yolo, "segment"),
        (lambda: labelled.coco(), LabelFormat.coco, "segment"),
        (lambda: labelled.coco(layout="annotations"), LabelFormat.coco, "segment"),
        (lambda: labelled.voc(), LabelFormat.voc, "detect"),
    ],
    ids=["yolo", "yolo-split-first", "yolo-seg", "coco-roboflow", "coco-annotations", "voc"],
)
def test_each_format_is_detected_with_its_boxes_splits_and_classes(builder, fmt, task) -> None:  # type: ignore[no-untyped-def]
    built = builder()
    analysis = read(built)
    assert analysis.format is fmt
    assert analysis.task == task
    assert analysis.problems == []
    assert analysis.class_names() == list(labelled.CLASSES)
    summary = analysis.summary()
    assert [(s["name"], s["images"], s["objects"]) for s in summary["splits"]] == [
        ("train", 3, 6),
        ("val", 1, 2),
        ("test", 1, 2),
    ]
    assert [c["count"] for c in summary["classes"]] == [5, 5]
    for rel in built.photos:
        assert analysis.items[rel].split == built.photos[rel].split
        # VOC's 1-based pixel indices and YOLO's 6-decimal normalisation round to the box
        assert boxes(analysis, rel) == expected_boxes(built, rel)


def test_coco_category_ids_are_kept_as_source_ids() -> None:
    analysis = read(labelled.coco())
    assert [(c.id, c.name, c.source_id) for c in analysis.classes] == [
        (0, "sign", 3),
        (1, "tag", 7),
    ]


def test_yolo_polygons_are_read_in_pixels() -> None:
    built = labelled.yolo(polygons=True)
    analysis = read(built)
    rel = "images/train/coffee.jpg"
    objects = analysis.items[rel].objects
    assert objects is not None
    x1, y1, x2, y2 = built.photos[rel].regions[0].box
    assert [round(v) for v in objects[0].polygons[0]] == [x1, y1, x2, y1, x2, y2, x1, y2]


def test_class_folders_with_split_folders() -> None:
    analysis = read(labelled.folders())
    assert analysis.format is LabelFormat.folders
    assert analysis.class_names() == ["sign", "tag"]
    assert analysis.items["val/tag/rocket.jpg"].split == "val"
    assert analysis.items["val/tag/rocket.jpg"].class_name == "tag"


def test_flat_images_are_not_labelled() -> None:
    built = labelled.Built(files={"a.jpg": labelled.encode(Image.new("RGB", (8, 8)))})
    assert read(built).format is LabelFormat.images


def test_default_splits_augment_training_only() -> None:
    assert default_splits(["train", "valid", "test"]) == ["train"]
    assert default_splits(["a", "b"]) == ["a", "b"]
    assert default_splits([]) == []


# ---- bad datasets: one clear problem per file, the rest reads -----------------------------


def test_yolo_class_id_beyond_names_and_coordinates_outside_the_unit_square() -> None:
    built = labelled.yolo()
    built.files["labels/train/coffee.txt"] = b"5 0.5 0.5 0.2 0.2\n"
    built.files["labels/train/chelsea.txt"] = b"0 0.5 0.5 0.2 0.2\n1 1.40 0.5 0.1 0.1\n"
    analysis = read(built)
    problems = {p.path: p.message for p in analysis.problems}
    assert set(problems) == {"labels/train/coffee.txt", "labels/train/chelsea.txt"}
    assert (
        "line 1: class id 5 is not in data.yaml's names (ids 0-1)"
        in problems["labels/train/coffee.txt"]
    )
    assert (
        "line 2: coordinates must be normalised to [0, 1]; found 1.4"
        in problems["labels/train/chelsea.txt"]
    )
    assert analysis.items["images/train/coffee.jpg"].problem
    assert analysis.items["images/train/chelsea.jpg"].problem
    good = analysis.items["images/train/astronaut.jpg"]
    assert not good.problem and good.objects is not None and len(good.objects) == 2
    assert analysis.summary()["problem_images"] == 2


def test_unreadable_data_yaml_is_a_problem_and_labels_still_read() -> None:
    built = labelled.yolo()
    built.files["data.yaml"] = b"names: [sign, tag\n  train: : :\n"
    analysis = read(built)
    assert [p.path for p in analysis.problems] == ["data.yaml"]
    assert "data.yaml is not readable YAML" in analysis.problems[0].message
    assert analysis.class_names() == ["0", "1"]  # from the ids the labels use
    assert all(not i.problem for i in analysis.items.values())
    assert analysis.layout["yaml_ok"] is False


def test_yolo_images_without_labels_and_orphan_label_files() -> None:
    built = labelled.yolo()
    del built.files["labels/val/rocket.txt"]
    built.files["labels/train/ghost.txt"] = b"0 0.5 0.5 0.1 0.1\n"
    analysis = read(built)
    summary = analysis.summary()
    assert summary["unlabelled"] == ["images/val/rocket.jpg"]
    assert [p.code for p in analysis.problems] == ["orphan_label"]


def test_coco_annotations_naming_missing_images() -> None:
    built = labelled.coco()
    doc = json.loads(built.files["train/_annotations.coco.json"])
    doc["annotations"].append(
        {"id": 99, "image_id": 42, "category_id": 3, "bbox": [1, 1, 5, 5], "iscrowd": 0}
    )
    doc["images"].append({"id": 7, "file_name": "gone.jpg", "width": 10, "height": 10})
    built.files["train/_annotations.coco.json"] = json.dumps(doc).encode()
    analysis = read(built)
    assert len(analysis.problems) == 1
    message = analysis.problems[0].message
    assert "image 'gone.jpg' (id 7) is not in the upload" in message
    assert "annotation 99 names image id 42, which the file does not list" in message
    assert all(not i.problem for i in analysis.items.values())
    assert sum(len(i.objects or ()) for i in analysis.items.values()) == 10


def test_coco_box_outside_its_image_marks_that_image() -> None:
    built = labelled.coco()
    doc = json.loads(built.files["val/_annotations.coco.json"])
    doc["annotations"][0]["bbox"] = [300, 10, 100, 20]
    built.files["val/_annotations.coco.json"] = json.dumps(doc).encode()
    analysis = read(built)
    assert "box reaches outside its" in analysis.problems[0].message
    assert analysis.items["val/rocket.jpg"].problem


def test_voc_box_outside_the_image_and_broken_xml() -> None:
    built = labelled.voc()
    built.files["Annotations/coffee.xml"] = built.files["Annotations/coffee.xml"].replace(
        b"<xmax>", b"<xmax>9"
    )
    built.files["Annotations/camera.xml"] = b"<annotation><object>"
    analysis = read(built)
    problems = {p.path: p.message for p in analysis.problems}
    assert "reaches outside the" in problems["Annotations/coffee.xml"]
    assert "not a readable Pascal VOC" in problems["Annotations/camera.xml"]
    assert analysis.items["JPEGImages/coffee.jpg"].problem
    assert analysis.items["JPEGImages/camera.jpg"].problem
    assert not analysis.items["JPEGImages/chelsea.jpg"].problem


def test_voc_refuses_document_type_declarations() -> None:
    built = labelled.voc()
    built.files["Annotations/coffee.xml"] = (
        b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "y">]>'
        + built.files["Annotations/coffee.xml"]
    )
    analysis = read(built)
    assert [p.path for p in analysis.problems] == ["Annotations/coffee.xml"]
