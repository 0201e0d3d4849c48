"""Labelled dataset uploads over HTTP: label files are kept, the format is detected
and shown (classes, splits, unlabelled images, per-file problems) before a job."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests import labelled
from tests.api.helpers import API, create_dataset, upload


async def summary(client: httpx.AsyncClient, dataset_id: str) -> dict:  # type: ignore[type-arg]
    r = await client.get(f"{API}/datasets/{dataset_id}")
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_yolo_folder_upload_in_chunks_is_detected(client: httpx.AsyncClient) -> None:
    built = labelled.yolo()
    ds = await create_dataset(client, "signs")
    files = sorted(built.files.items())
    # A browser sends a folder in several requests: labels and images may arrive apart.
    for chunk in (files[:5], files[5:]):
        r = await upload(client, ds, chunk, as_paths=True)
        assert r.status_code == 200, r.text
        assert r.json()["errors"] == []
    body = await summary(client, ds)
    assert body["item_count"] == 5
    labels = body["labels"]
    assert labels["format"] == "yolo" and labels["task"] == "detect"
    assert [(c["name"], c["count"]) for c in labels["classes"]] == [("sign", 5), ("tag", 5)]
    assert [(s["name"], s["role"], s["images"]) for s in labels["splits"]] == [
        ("train", "train", 3),
        ("val", "val", 1),
        ("test", "test", 1),
    ]
    assert labels["default_splits"] == ["train"]
    assert labels["problems"] == [] and labels["unlabelled_count"] == 0


async def test_label_files_are_reported_and_a_second_upload_is_read_again(
    client: httpx.AsyncClient,
) -> None:
    built = labelled.yolo()
    ds = await create_dataset(client)
    images = [(k, v) for k, v in built.files.items() if k.endswith(".jpg")]
    r = await upload(client, ds, images, as_paths=True)
    assert r.json()["label_files"] == []
    before = (await summary(client, ds))["labels"]
    assert before["format"] == "folders"  # images/ with no labels yet is one class folder
    rest = [(k, v) for k, v in built.files.items() if not k.endswith(".jpg")]
    r = await upload(client, ds, rest, as_paths=True)
    assert sorted(r.json()["label_files"]) == sorted(k for k, _ in rest)
    after = (await summary(client, ds))["labels"]
    assert after["format"] == "yolo"


async def test_bad_labels_are_per_file_problems_and_the_rest_imports(
    client: httpx.AsyncClient,
) -> None:
    built = labelled.yolo()
    built.files["labels/train/coffee.txt"] = b"9 0.5 0.5 0.2 0.2\n"
    built.files["labels/val/rocket.txt"] = b"0 0.5 0.5 1.5 0.2\n"
    ds = await create_dataset(client)
    r = await upload(client, ds, list(built.files.items()), as_paths=True)
    assert r.json()["errors"] == []
    labels = (await summary(client, ds))["labels"]
    assert labels["problem_count"] == 2 and labels["problem_images"] == 2
    by_path = {p["path"]: p for p in labels["problems"]}
    assert "class id 9 is not in data.yaml's names" in by_path["labels/train/coffee.txt"]["message"]
    assert "coordinates must be normalised" in by_path["labels/val/rocket.txt"]["message"]
    assert [c["count"] for c in labels["classes"]] == [3, 3]  # the four good files


async def test_coco_zip_upload(client: httpx.AsyncClient, tmp_path: Path) -> None:
    path = labelled.write_zip(labelled.coco(), tmp_path / "coco.zip", wrap="export")
    ds = await create_dataset(client)
    with path.open("rb") as fh:
        r = await client.post(
            f"{API}/datasets/{ds}/zip", files={"file": ("coco.zip", fh, "application/zip")}
        )
    assert r.status_code == 200, r.text
    assert len(r.json()["accepted"]) == 5 and len(r.json()["label_files"]) == 3
    labels = (await summary(client, ds))["labels"]
    assert labels["format"] == "coco"
    assert [(c["name"], c["source_id"]) for c in labels["classes"]] == [("sign", 3), ("tag", 7)]


async def test_reference_uploads_still_refuse_text_files(client: httpx.AsyncClient) -> None:
    r = await upload(client, None, [("notes.txt", b"hello")])
    assert r.status_code == 200
    assert [e["rel_path"] for e in r.json()["errors"]] == ["notes.txt"]


async def test_coco_json_upload_replaces_the_earlier_one(client: httpx.AsyncClient) -> None:
    built = labelled.coco()
    ds = await create_dataset(client)
    await upload(client, ds, list(built.files.items()), as_paths=True)
    doc = json.loads(built.files["val/_annotations.coco.json"])
    doc["annotations"] = []
    await upload(
        client, ds, [("val/_annotations.coco.json", json.dumps(doc).encode())], as_paths=True
    )
    labels = (await summary(client, ds))["labels"]
    assert [s["objects"] for s in labels["splits"]] == [6, 0, 2]


async def test_labels_can_be_left_out_while_uploading(client: httpx.AsyncClient) -> None:
    ds = await create_dataset(client)
    await upload(client, ds, list(labelled.yolo().files.items()), as_paths=True)
    r = await client.get(f"{API}/datasets/{ds}", params={"labels": "false"})
    assert r.json()["item_count"] == 5 and r.json()["labels"] is None
    assert (await summary(client, ds))["labels"]["format"] == "yolo"
