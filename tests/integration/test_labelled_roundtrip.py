"""Labelled datasets end to end: real photos with painted regions in each format are
imported, augmented by the classic provider with geometric recipes, exported, and
the exported dataset is read back by supervision (not by our reader) and checked:
every augmented training image has labels that still enclose the painted regions,
val/test pass through byte for byte, class names and ids are unchanged."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pytest
import supervision as sv
import yaml
from PIL import Image
from sqlalchemy import select

from bananabatch.config import Settings
from bananabatch.db.models import Output, OutputStatus
from bananabatch.export import ExportSelection, stream_job_zip
from bananabatch.ingest.dataset_items import create_dataset
from bananabatch.ingest.service import ingest_files, ingest_zip
from bananabatch.runtime import Runtime, build_runtime
from bananabatch.services import jobs as job_service
from bananabatch.services.job_requests import AutomaticJobCreate
from tests import labelled

pytestmark = pytest.mark.slow

PROMPT = "{flip|rotate|zoom|shear} photo"


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    rt = build_runtime(settings.model_copy(update={"concurrency": 2}))
    yield rt
    await rt.stop()


def upload(rt: Runtime, built: labelled.Built, tmp: Path, *, as_zip: bool = False) -> str:
    with rt.session_factory() as s:
        dataset_id = create_dataset(s, "labelled").id
        if as_zip:
            path = labelled.write_zip(built, tmp / "ds.zip", wrap="dataset")
            report = ingest_zip(s, rt.storage, rt.settings, dataset_id, path)
        else:
            files: list[tuple[str, BinaryIO]] = [(k, io.BytesIO(v)) for k, v in built.files.items()]
            report = ingest_files(s, rt.storage, rt.settings, dataset_id, files)
    assert report.errors == []
    return dataset_id


async def run_and_export(
    rt: Runtime, dataset_id: str, dest: Path, **job: object
) -> tuple[str, dict[str, bytes]]:
    with rt.session_factory() as s:
        created = job_service.create_job(
            s,
            rt.settings,
            rt.catalog,
            AutomaticJobCreate(dataset_id=dataset_id, prompt=PROMPT, variations=2, seed=11, **job),  # type: ignore[arg-type]
            storage=rt.storage,
            preflight=None,
        ).job
    await rt.start()
    await asyncio.wait_for(rt.orchestrator.wait_for_jobs([created.id]), 120)
    await rt.orchestrator.stop()
    _, chunks, _ = stream_job_zip(
        rt.session_factory, rt.storage, created.id, ExportSelection(), part_bytes=1 << 40
    )
    archive = dest / "export.zip"
    archive.write_bytes(b"".join(chunks))
    with zipfile.ZipFile(archive) as zf:
        assert zf.testzip() is None
        zf.extractall(dest / "out")
        return created.id, {n: zf.read(n) for n in zf.namelist()}


def outputs_of(rt: Runtime, job_id: str) -> list[Output]:
    with rt.session_factory() as s:
        return list(s.scalars(select(Output).where(Output.job_id == job_id)))


def assert_encloses(image_path: Path, detections: sv.Detections, margin: float = 2.0) -> None:
    """Every painted region's pixels lie inside the box labelled with its class."""
    with Image.open(image_path) as im:
        img = im.convert("RGB")
    assert detections.class_id is not None and len(detections) >= 1
    for class_id in set(int(c) for c in detections.class_id):
        px = labelled.region_pixels(img, class_id, tolerance=40)
        if len(px) < 30:  # the region was cropped away (and its label dropped)
            continue
        boxes = detections.xyxy[detections.class_id == class_id]
        inside = np.zeros(len(px), dtype=bool)
        for x1, y1, x2, y2 in boxes:
            inside |= (
                (px[:, 0] >= x1 - margin)
                & (px[:, 0] <= x2 + margin)
                & (px[:, 1] >= y1 - margin)
                & (px[:, 1] <= y2 + margin)
            )
        assert inside.mean() >= 0.98, (image_path.name, class_id, inside.mean())


def manifest(files: dict[str, bytes]) -> list[dict[str, object]]:
    return [json.loads(line) for line in files["manifest.jsonl"].splitlines()]


@pytest.mark.parametrize("layout", ["ultralytics", "split_first"])
async def test_yolo_round_trip(runtime: Runtime, tmp_path: Path, layout: str) -> None:
    built = labelled.yolo(layout=layout)
    dataset_id = upload(runtime, built, tmp_path, as_zip=layout == "split_first")
    job_id, files = await run_and_export(runtime, dataset_id, tmp_path)
    outs = outputs_of(runtime, job_id)
    assert len(outs) == 6 and all(o.status == OutputStatus.succeeded for o in outs)

    # val and test pass through untouched; originals and the data.yaml are there too
    for rel, data in built.files.items():
        assert files[rel] == data, rel
    root = tmp_path / "out"
    names = yaml.safe_load((root / "data.yaml").read_text())["names"]
    assert names == {0: "sign", 1: "tag"}

    split_dir = "images/train" if layout == "ultralytics" else "train/images"
    label_dir = "labels/train" if layout == "ultralytics" else "train/labels"
    ds = sv.DetectionDataset.from_yolo(
        images_directory_path=str(root / split_dir),
        annotations_directory_path=str(root / label_dir),
        data_yaml_path=str(root / "data.yaml"),
    )
    assert ds.classes == ["sign", "tag"]
    augmented = [p for p in ds.image_paths if "__v" in p]
    assert len(augmented) == 6 and len(ds) == 9
    for path in augmented:
        assert len(ds.annotations[path]) >= 1, path  # every augmented image has labels
        assert_encloses(Path(path), ds.annotations[path])
    rows = manifest(files)
    assert all(r["labels_path"] and r["label_count"] and r["split"] == "train" for r in rows)


async def test_yolo_segmentation_round_trip(runtime: Runtime, tmp_path: Path) -> None:
    built = labelled.yolo(polygons=True)
    dataset_id = upload(runtime, built, tmp_path)
    _, files = await run_and_export(runtime, dataset_id, tmp_path)
    root = tmp_path / "out"
    ds = sv.DetectionDataset.from_yolo(
        images_directory_path=str(root / "images/train"),
        annotations_directory_path=str(root / "labels/train"),
        data_yaml_path=str(root / "data.yaml"),
        force_masks=True,
    )
    augmented = [p for p in ds.image_paths if "__v" in p]
    assert len(augmented) == 6
    for path in augmented:
        det = ds.annotations[path]
        assert det.mask is not None and det.mask.any(axis=(1, 2)).all()
        assert_encloses(Path(path), det)
    label_text = next(v for k, v in files.items() if k.startswith("labels/train/") and "__v" in k)
    assert all(len(line.split()) > 5 for line in label_text.decode().splitlines())  # polygons


@pytest.mark.parametrize("layout", ["roboflow", "annotations"])
async def test_coco_round_trip(runtime: Runtime, tmp_path: Path, layout: str) -> None:
    built = labelled.coco(layout=layout)
    dataset_id = upload(runtime, built, tmp_path)
    _, files = await run_and_export(runtime, dataset_id, tmp_path)
    root = tmp_path / "out"
    train_json = (
        "train/_annotations.coco.json"
        if layout == "roboflow"
        else "annotations/instances_train.json"
    )
    for rel, data in built.files.items():
        if rel != train_json:
            assert files[rel] == data, rel  # val/test JSONs and every original untouched
    doc = json.loads(files[train_json])
    before = json.loads(built.files[train_json])
    assert doc["categories"] == before["categories"]  # ids 3 and 7 kept
    assert doc["images"][:3] == before["images"] and doc["annotations"][:6] == before["annotations"]
    assert len(doc["images"]) == 9 and {a["category_id"] for a in doc["annotations"]} == {3, 7}
    assert len({a["id"] for a in doc["annotations"]}) == len(doc["annotations"])

    ds = sv.DetectionDataset.from_coco(
        images_directory_path=str(root / "train"), annotations_path=str(root / train_json)
    )
    assert ds.classes == ["sign", "tag"]
    augmented = [p for p in ds.image_paths if "__v" in p]
    assert len(augmented) == 6
    for path in augmented:
        assert len(ds.annotations[path]) >= 1
        assert_encloses(Path(path), ds.annotations[path])


async def test_voc_round_trip(runtime: Runtime, tmp_path: Path) -> None:
    built = labelled.voc()
    dataset_id = upload(runtime, built, tmp_path)
    _, files = await run_and_export(runtime, dataset_id, tmp_path)
    root = tmp_path / "out"
    for rel, data in built.files.items():
        if rel != "ImageSets/Main/train.txt":
            assert files[rel] == data, rel
    train = files["ImageSets/Main/train.txt"].decode().split()
    assert train[:3] == ["astronaut", "coffee", "chelsea"] and len(train) == 9
    ds = sv.DetectionDataset.from_pascal_voc(
        images_directory_path=str(root / "JPEGImages"),
        annotations_directory_path=str(root / "Annotations"),
    )
    assert sorted(ds.classes) == ["sign", "tag"]
    augmented = [p for p in ds.image_paths if "__v" in p]
    assert len(augmented) == 6
    for path in augmented:
        det = ds.annotations[path]
        assert len(det) >= 1
        # supervision orders VOC classes by first appearance: map back by name
        names = [ds.classes[int(c)] for c in det.class_id]  # type: ignore[union-attr]
        det.class_id = np.array([labelled.CLASSES.index(n) for n in names])
        assert_encloses(Path(path), det)


async def test_class_folders_with_splits(runtime: Runtime, tmp_path: Path) -> None:
    built = labelled.folders()
    dataset_id = upload(runtime, built, tmp_path)
    job_id, files = await run_and_export(runtime, dataset_id, tmp_path)
    assert len(outputs_of(runtime, job_id)) == 6  # train only
    for rel, data in built.files.items():
        assert files[rel] == data
    generated = sorted(n for n in files if "__v" in n)
    assert len(generated) == 6 and all(n.startswith("train/") for n in generated)
    assert {n.split("/")[1] for n in generated} <= {"sign", "tag"}


async def test_chosen_splits_and_bad_labels_are_left_alone(
    runtime: Runtime, tmp_path: Path
) -> None:
    built = labelled.yolo()
    built.files["labels/train/coffee.txt"] = b"7 0.5 0.5 0.1 0.1\n"
    dataset_id = upload(runtime, built, tmp_path)
    with runtime.session_factory() as s:
        est = job_service.estimate_job(
            s,
            runtime.settings,
            runtime.catalog,
            AutomaticJobCreate(
                dataset_id=dataset_id, prompt="flip", variations=2, splits=["train", "val"]
            ),
            storage=runtime.storage,
            preflight=None,
        )
    assert [(e.name, e.images, e.augmented, e.outputs) for e in est.splits] == [
        ("train", 3, True, 4),
        ("val", 1, True, 2),
        ("test", 1, False, 0),
    ]
    assert est.skipped_images == 1 and est.outputs == 6 and est.label_format == "yolo"
    _, files = await run_and_export(runtime, dataset_id, tmp_path, splits=["train", "val"])
    assert files["labels/train/coffee.txt"] == b"7 0.5 0.5 0.1 0.1\n"  # kept as it came
    assert not any(n.startswith("images/train/coffee__v") for n in files)
    assert sum(n.startswith("images/val/rocket__v") for n in files) == 2
