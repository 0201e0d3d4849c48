"""Upload reports say everything that happened: clutter skipped (with why), items replaced."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests import badinput
from tests.api.helpers import API, create_dataset, upload


async def test_zip_report_lists_skipped_clutter_with_reasons(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    ds = await create_dataset(client)
    zip_path = badinput.dataset_zip(tmp_path / "set.zip")
    r = await client.post(
        f"{API}/datasets/{ds}/zip",
        files={"file": (zip_path.name, zip_path.read_bytes(), "application/zip")},
    )
    assert r.status_code == 200, r.text
    skipped = {s["rel_path"]: s["reason"] for s in r.json()["skipped"]}
    assert set(skipped) == {
        "dataset/.DS_Store",
        "__MACOSX/dataset/cat/._001.jpg",
        "dataset/dog/Thumbs.db",
    }
    assert "macOS" in skipped["dataset/.DS_Store"]
    assert "__MACOSX" in skipped["__MACOSX/dataset/cat/._001.jpg"]
    assert "Windows" in skipped["dataset/dog/Thumbs.db"]


async def test_folder_upload_report_lists_skipped_clutter_with_reasons(
    client: httpx.AsyncClient,
) -> None:
    ds = await create_dataset(client)
    files = [("cat/001.jpg", badinput.jpeg_photo(seed=1)), ("cat/.hidden.jpg", b"x")]
    r = await upload(client, ds, files)
    assert r.status_code == 200, r.text
    assert r.json()["skipped"] == [
        {
            "rel_path": "cat/.hidden.jpg",
            "reason": "hidden file or folder (its name starts with '.')",
        }
    ]


async def test_re_uploading_a_path_reports_the_replaced_item(client: httpx.AsyncClient) -> None:
    ds = await create_dataset(client)
    first = await upload(client, ds, [("cat/001.jpg", badinput.jpeg_photo(seed=1))])
    old_id = first.json()["accepted"][0]["asset_id"]
    assert first.json()["replaced"] == []

    other = badinput.jpeg_photo(seed=2)
    second = await upload(
        client, ds, [("cat/001.jpg", other), ("cat/002.jpg", badinput.jpeg_photo(seed=3))]
    )
    assert second.status_code == 200, second.text
    new_id = second.json()["accepted"][0]["asset_id"]
    assert new_id != old_id
    assert second.json()["replaced"] == [{"rel_path": "cat/001.jpg", "previous_asset_id": old_id}]
    items = (await client.get(f"{API}/datasets/{ds}/items")).json()["items"]
    assert {i["rel_path"]: i["asset_id"] for i in items}["cat/001.jpg"] == new_id

    same_again = await upload(client, ds, [("cat/001.jpg", other)])
    assert same_again.json()["replaced"] == []  # the same image: nothing changed
    assert same_again.json()["accepted"][0]["duplicate"] is True


async def test_reference_uploads_replace_nothing(client: httpx.AsyncClient) -> None:
    r = await upload(client, None, [("ref.jpg", badinput.jpeg_photo(seed=5))])
    assert r.json()["replaced"] == []
