"""Upload reports say everything that happened: clutter skipped (with why)."""

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
