"""Datasets and uploads over HTTP, including the bad-input suite."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from bananabatch.api.app import create_app
from bananabatch.config import Settings
from bananabatch.runtime import Runtime, build_runtime
from tests import badinput
from tests.api.helpers import API, BASE_URL, create_dataset, error_of, photos, upload


async def test_create_list_and_summarise(client: httpx.AsyncClient) -> None:
    r = await client.post(f"{API}/datasets", json={"name": "my photos"})
    assert r.status_code == 201
    ds = r.json()
    assert ds["name"] == "my photos"
    assert ds["item_count"] == 0 and ds["folders"] == []
    assert ds["created_at"].endswith("Z")

    r = await upload(client, ds["id"], photos({"cat": 3, "dog": 2}))
    assert r.status_code == 200, r.text
    assert len(r.json()["accepted"]) == 5 and r.json()["errors"] == []

    summary = (await client.get(f"{API}/datasets/{ds['id']}")).json()
    assert summary["item_count"] == 5
    assert summary["folders"] == [{"folder": "cat", "count": 3}, {"folder": "dog", "count": 2}]

    listing = (await client.get(f"{API}/datasets")).json()
    assert [(d["id"], d["item_count"]) for d in listing["items"]] == [(ds["id"], 5)]


async def test_dataset_name_too_long_and_extra_fields(client: httpx.AsyncClient) -> None:
    r = await client.post(f"{API}/datasets", json={"name": "x" * 300})
    assert r.status_code == 422
    assert "name" in error_of(r)["message"]
    r = await client.post(f"{API}/datasets", json={"name": "a", "colour": "red"})
    assert r.status_code == 422
    assert error_of(r)["details"][0]["field"] == "colour"


async def test_unknown_dataset_is_404(client: httpx.AsyncClient) -> None:
    for r in (
        await client.get(f"{API}/datasets/nope"),
        await client.get(f"{API}/datasets/nope/items"),
        await upload(client, "nope", photos({"cat": 1})),
    ):
        assert r.status_code == 404
        assert error_of(r)["code"] == "not_found"


async def test_paths_field_carries_relative_paths(client: httpx.AsyncClient) -> None:
    ds = await create_dataset(client)
    r = await upload(client, ds, photos({"cat": 2, "dog": 1}), as_paths=True)
    assert r.status_code == 200, r.text
    assert sorted(f["rel_path"] for f in r.json()["accepted"]) == [
        "cat/000.jpg",
        "cat/001.jpg",
        "dog/000.jpg",
    ]


async def test_paths_must_align_with_files(client: httpx.AsyncClient) -> None:
    ds = await create_dataset(client)
    files = [("files", ("a.jpg", badinput.jpeg_photo(seed=1), "image/jpeg"))]
    r = await client.post(
        f"{API}/datasets/{ds}/files", files=files, data={"paths": ["x/a.jpg", "y/b.jpg"]}
    )
    assert r.status_code == 422
    assert "paths" in error_of(r)["message"]


async def test_upload_needs_files_and_multipart(client: httpx.AsyncClient) -> None:
    ds = await create_dataset(client)
    r = await client.post(f"{API}/datasets/{ds}/files", data={"paths": ["a.jpg"]})
    assert r.status_code in (415, 422)
    r = await client.post(
        f"{API}/datasets/{ds}/files",
        files={"other": ("a.jpg", b"x")},
    )
    assert r.status_code == 400
    assert "files" in error_of(r)["message"]
    r = await client.post(f"{API}/datasets/{ds}/files", json={"files": []})
    assert r.status_code == 415
    assert error_of(r)["code"] == "unsupported_media_type"
    r = await client.post(
        f"{API}/datasets/{ds}/files",
        content=b"--XYZ\r\nContent-Disposition: form-data\r\n\r\nhello\r\n--XYZ--\r\n",
        headers={"content-type": "multipart/form-data; boundary=XYZ"},
    )
    assert r.status_code == 400
    r = await client.post(
        f"{API}/datasets/{ds}/files",
        content=b"garbage",
        headers={"content-type": "multipart/form-data"},
    )
    assert r.status_code == 400
    assert "boundary" in error_of(r)["message"]


async def test_form_fields_are_bounded_as_a_whole(client: httpx.AsyncClient) -> None:
    """Fields stay in memory: 300 fields of 60 KB (each under the per-field cap) are refused
    instead of being held up to the request size limit."""
    ds = await create_dataset(client)
    field = b'--XYZ\r\nContent-Disposition: form-data; name="paths"\r\n\r\n' + b"a" * 60_000
    body = b"\r\n".join([field] * 300) + b"\r\n--XYZ--\r\n"
    r = await client.post(
        f"{API}/datasets/{ds}/files",
        content=body,
        headers={"content-type": "multipart/form-data; boundary=XYZ"},
    )
    assert r.status_code == 400, r.text
    assert error_of(r)["code"] == "malformed_multipart"
    assert "split the upload" in error_of(r)["message"]


async def test_bad_input_suite_per_file_errors_and_good_files_land(
    client: httpx.AsyncClient,
) -> None:
    """Every bad file gets its own error code; every good file in the same request lands."""
    ds = await create_dataset(client)
    cases = badinput.bad_files() + badinput.good_files()
    r = await upload(client, ds, [(c.name, c.data) for c in cases])
    assert r.status_code == 200, r.text
    body = r.json()
    errors = {e["rel_path"]: e for e in body["errors"]}
    accepted = {f["rel_path"]: f for f in body["accepted"]}
    for case in cases:
        if case.error:
            assert case.name in errors, f"{case.name} should have been refused"
            assert errors[case.name]["code"] == case.error, errors[case.name]
            assert errors[case.name]["message"]
        else:
            assert case.name in accepted, f"{case.name}: {errors.get(case.name)}"
            if case.mime_type:
                assert accepted[case.name]["mime_type"] == case.mime_type
            if case.note:
                assert any(case.note in n for n in accepted[case.name]["notes"]), accepted[
                    case.name
                ]
    summary = (await client.get(f"{API}/datasets/{ds}")).json()
    assert summary["item_count"] == len(badinput.good_files())


async def test_unicode_space_and_duplicate_names(client: httpx.AsyncClient) -> None:
    ds = await create_dataset(client)
    files = [
        (name, badinput.jpeg_photo(seed=i) if name.endswith(".jpg") else badinput.png_image(seed=i))
        for i, name in enumerate(badinput.UNICODE_NAMES)
    ]
    files += badinput.duplicate_names_in_folders()
    files.append((badinput.nfd("décor/résumé.jpg"), badinput.jpeg_photo(seed=77)))
    r = await upload(client, ds, files)
    assert r.status_code == 200, r.text
    assert r.json()["errors"] == []
    paths = {f["rel_path"] for f in r.json()["accepted"]}
    assert {"cat/001.jpg", "dog/001.jpg"} <= paths
    assert unicodedata.normalize("NFC", "décor/résumé.jpg") in paths
    assert any("🍌" in p for p in paths)
    items = (await client.get(f"{API}/datasets/{ds}/items?limit=500")).json()["items"]
    assert len(items) == len(files)


async def test_reupload_is_deduplicated(client: httpx.AsyncClient) -> None:
    ds = await create_dataset(client)
    files = photos({"cat": 2})
    first = (await upload(client, ds, files)).json()["accepted"]
    again = (await upload(client, ds, files)).json()["accepted"]
    assert [f["asset_id"] for f in first] == [f["asset_id"] for f in again]
    assert all(f["duplicate"] for f in again)
    assert (await client.get(f"{API}/datasets/{ds}")).json()["item_count"] == 2


async def test_items_cursor_pagination(client: httpx.AsyncClient) -> None:
    ds = await create_dataset(client)
    await upload(client, ds, photos({"cat": 4, "dog": 3}))
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get(f"{API}/datasets/{ds}/items", params=params)).json()
        pages += 1
        seen += [i["rel_path"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == sorted(seen) and len(seen) == 7 == len(set(seen))
    item = page["items"][0]
    assert item["thumbnail_url"].startswith(f"{API}/assets/")
    only_dogs = (await client.get(f"{API}/datasets/{ds}/items?folder=dog")).json()
    assert [i["folder"] for i in only_dogs["items"]] == ["dog"] * 3
    r = await client.get(f"{API}/datasets/{ds}/items", params={"cursor": "!!not-a-cursor"})
    assert r.status_code == 422
    r = await client.get(f"{API}/datasets/{ds}/items", params={"limit": 0})
    assert r.status_code == 422
    r = await client.get(f"{API}/datasets", params={"offset": 2**63})  # was a 500
    assert r.status_code == 422


# ---- ZIP uploads ------------------------------------------------------------------------


def _zip_part(path: Path) -> dict[str, tuple[str, bytes, str]]:
    return {"file": (path.name, path.read_bytes(), "application/zip")}


async def _upload_zip(client: httpx.AsyncClient, ds: str, path: Path) -> httpx.Response:
    return await client.post(f"{API}/datasets/{ds}/zip", files=_zip_part(path))


async def test_zip_upload_keeps_classes_and_skips_clutter(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    ds = await create_dataset(client)
    r = await _upload_zip(client, ds, badinput.dataset_zip(tmp_path / "set.zip"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert sorted(f["rel_path"] for f in body["accepted"]) == [
        "cat/001.jpg",
        "cat/002.png",
        "dog/001.jpg",
    ]
    assert body["errors"] == []
    summary = (await client.get(f"{API}/datasets/{ds}")).json()
    assert summary["folders"] == [{"folder": "cat", "count": 2}, {"folder": "dog", "count": 1}]


@pytest.mark.parametrize(
    ("builder", "good"),
    [
        (badinput.zip_with_traversal, "cat/ok.jpg"),
        (badinput.zip_with_absolute_paths, "dog/ok.jpg"),
        (badinput.zip_with_symlink, "cat/ok.jpg"),
    ],
)
async def test_hostile_zip_entries_are_refused_the_rest_lands(
    client: httpx.AsyncClient, tmp_path: Path, builder: object, good: str, data_dir: Path
) -> None:
    ds = await create_dataset(client)
    path = builder(tmp_path / "hostile.zip")  # type: ignore[operator]
    r = await _upload_zip(client, ds, path)
    assert r.status_code == 200, r.text
    body = r.json()
    # The only survivor's folder is the archive's common top folder, which ingest drops.
    assert [f["rel_path"] for f in body["accepted"]] in ([good], [good.split("/")[-1]])
    assert body["errors"], "the hostile entries must be reported"
    for err in body["errors"]:
        assert err["code"] and err["message"]
    assert not list(tmp_path.parent.glob("evil*"))
    assert not (data_dir.parent / "evil.jpg").exists()


async def test_zip_bomb_is_refused(client: httpx.AsyncClient, tmp_path: Path) -> None:
    ds = await create_dataset(client)
    r = await _upload_zip(client, ds, badinput.zip_bomb(tmp_path / "bomb.zip"))
    assert r.status_code == 400
    err = error_of(r)
    assert err["code"] == "bad_archive"
    assert "zip bomb" in err["message"]
    assert (await client.get(f"{API}/datasets/{ds}")).json()["item_count"] == 0


async def test_not_a_zip_is_a_clear_error(client: httpx.AsyncClient, tmp_path: Path) -> None:
    ds = await create_dataset(client)
    r = await _upload_zip(client, ds, badinput.not_a_zip(tmp_path / "x.zip"))
    assert r.status_code == 400
    err = error_of(r)
    assert "zip" in err["message"].lower()
    r = await client.post(f"{API}/datasets/{ds}/zip", files={"files": ("a.zip", b"x")})
    assert r.status_code == 400


async def test_upload_temp_files_are_removed(client: httpx.AsyncClient, data_dir: Path) -> None:
    ds = await create_dataset(client)
    await upload(client, ds, photos({"cat": 3}))
    assert list((data_dir / "tmp").iterdir()) == []


# ---- request size limit -----------------------------------------------------------------


@pytest.fixture
def small_app(settings: Settings) -> tuple[FastAPI, Runtime]:
    rt = build_runtime(settings.model_copy(update={"max_upload_bytes": 64 * 1024}))
    return create_app(rt), rt


async def test_oversized_request_is_413_json(small_app: tuple[FastAPI, Runtime]) -> None:
    app, rt = small_app
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=BASE_URL
        ) as c:
            ds = await create_dataset(c)
            big = [("big/a.jpg", badinput.oversized_file(80 * 1024))]
            r = await upload(c, ds, big)
            assert r.status_code == 413
            err = error_of(r)
            assert err["code"] == "payload_too_large"
            assert "BANANABATCH_MAX_UPLOAD_BYTES" in err["message"]

            async def chunked() -> object:
                boundary = b"--B\r\n"
                yield boundary
                yield b'Content-Disposition: form-data; name="files"; filename="a.jpg"\r\n\r\n'
                for _ in range(20):
                    yield b"\x00" * 8192
                yield b"\r\n--B--\r\n"

            r = await c.post(
                f"{API}/datasets/{ds}/files",
                content=chunked(),  # type: ignore[arg-type]
                headers={"content-type": "multipart/form-data; boundary=B"},
            )
            assert r.status_code == 413
            assert error_of(r)["code"] == "payload_too_large"

            r = await c.post(
                f"{API}/jobs/estimate",
                content=chunked(),  # type: ignore[arg-type]
                headers={"content-type": "application/json"},
            )
            assert r.status_code == 413
            # A small upload still works on the same server.
            r = await upload(c, ds, photos({"cat": 1}))
            assert r.status_code == 200
    finally:
        rt.engine.dispose()
    assert list((rt.settings.data_dir / "tmp").iterdir()) == []
