"""Asset and output downloads: bytes, validators, caching, 404s."""

from __future__ import annotations

import io

import httpx
import pytest
from PIL import Image

from bananabatch.db.models import Asset, OutputStatus
from bananabatch.runtime import Runtime
from tests.api.helpers import API, error_of, insert_job, photos, upload

# Long-lived but never for shared caches: behind a password these are private images.
IMMUTABLE = "private, max-age=31536000, immutable"


async def test_reference_upload_and_asset_downloads(client: httpx.AsyncClient) -> None:
    r = await upload(client, None, photos({"": 2}))
    assert r.status_code == 200, r.text
    accepted = r.json()["accepted"]
    assert len(accepted) == 2 and r.json()["errors"] == []
    asset_id = accepted[0]["asset_id"]
    assert len(asset_id) == 64

    r = await client.get(f"{API}/assets/{asset_id}/image")
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/jpeg"
    assert r.headers["cache-control"] == IMMUTABLE
    etag = r.headers["etag"]
    assert Image.open(io.BytesIO(r.content)).size == (accepted[0]["width"], accepted[0]["height"])

    r304 = await client.get(f"{API}/assets/{asset_id}/image", headers={"If-None-Match": etag})
    assert r304.status_code == 304 and r304.content == b""

    thumb = await client.get(accepted[0]["thumbnail_url"])
    assert thumb.status_code == 200
    assert thumb.headers["content-type"] == "image/webp"
    assert thumb.headers["etag"] != etag
    assert Image.open(io.BytesIO(thumb.content)).format == "WEBP"


async def test_asset_thumbnail_falls_back_to_the_image(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    r = await upload(client, None, photos({"": 1}))
    asset_id = r.json()["accepted"][0]["asset_id"]
    with runtime.session_factory() as s:
        asset = s.get(Asset, asset_id)
        assert asset is not None and asset.thumb_key
        runtime.storage.delete(asset.thumb_key)
    r = await client.get(f"{API}/assets/{asset_id}/thumbnail")
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"


async def test_unknown_assets_and_missing_blobs_are_404(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    for path in ("/assets/" + "0" * 64 + "/image", "/assets/" + "0" * 64 + "/thumbnail"):
        r = await client.get(f"{API}{path}")
        assert r.status_code == 404
        assert error_of(r)["code"] == "not_found"
    r = await upload(client, None, photos({"": 1}))
    asset_id = r.json()["accepted"][0]["asset_id"]
    with runtime.session_factory() as s:
        asset = s.get(Asset, asset_id)
        assert asset is not None
        runtime.storage.delete(asset.storage_key)
    r = await client.get(f"{API}/assets/{asset_id}/image")
    assert r.status_code == 404
    assert "missing" in error_of(r)["message"]


async def test_assets_upload_reports_bad_files(client: httpx.AsyncClient) -> None:
    r = await upload(client, None, [("x.png", b"not an image"), *photos({"": 1})])
    assert r.status_code == 200
    assert [e["code"] for e in r.json()["errors"]] == ["not_an_image"]
    assert len(r.json()["accepted"]) == 1
    r = await client.post(f"{API}/assets", files={"other": ("a.jpg", b"x")})
    assert r.status_code == 400


async def test_output_record_image_and_thumbnail(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    job = insert_job(runtime, statuses=[OutputStatus.succeeded, OutputStatus.pending])
    oid = job.succeeded[0]
    r = await client.get(f"{API}/outputs/{oid}")
    assert r.status_code == 200
    assert r.json()["status"] == "succeeded" and r.json()["job_id"] == job.job_id

    r = await client.get(f"{API}/outputs/{oid}/image")
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/png"
    assert r.headers["cache-control"] == IMMUTABLE
    assert 'filename="image-1.png"' in r.headers["content-disposition"]
    assert r.headers["content-length"] == str(len(r.content))
    assert Image.open(io.BytesIO(r.content)).size == (24, 16)
    etag = r.headers["etag"]
    again = await client.get(f"{API}/outputs/{oid}/image", headers={"If-None-Match": etag})
    assert again.status_code == 304
    star = await client.get(f"{API}/outputs/{oid}/image", headers={"If-None-Match": '"x", *'})
    assert star.status_code == 304

    thumb = await client.get(f"{API}/outputs/{oid}/thumbnail")
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/webp"
    assert thumb.headers["cache-control"] == IMMUTABLE


async def test_output_without_image_is_404(client: httpx.AsyncClient, runtime: Runtime) -> None:
    job = insert_job(runtime, statuses=[OutputStatus.pending, OutputStatus.failed])
    for oid in job.output_ids:
        for suffix in ("/image", "/thumbnail"):
            r = await client.get(f"{API}/outputs/{oid}{suffix}")
            assert r.status_code == 404
            assert "has no image" in error_of(r)["message"]
    for path in ("/outputs/nope", "/outputs/nope/image", "/outputs/nope/thumbnail"):
        r = await client.get(f"{API}{path}")
        assert r.status_code == 404
        error_of(r)


class _RemoteLikeStorage:
    """Delegates to local storage but is not LocalStorage: exercises the streaming path
    an S3-like store takes (no local file to sendfile)."""

    def __init__(self, inner: object) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)


async def test_downloads_stream_from_non_local_storage(
    client: httpx.AsyncClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = insert_job(runtime, statuses=[OutputStatus.succeeded])
    local = runtime.storage.get_bytes(f"outputs/{job.job_id}/{job.succeeded[0]}.png")
    monkeypatch.setattr(runtime, "storage", _RemoteLikeStorage(runtime.storage))
    r = await client.get(f"{API}/outputs/{job.succeeded[0]}/image")
    assert r.status_code == 200
    assert r.content == local
    assert r.headers["content-length"] == str(len(local))
    assert r.headers["cache-control"] == IMMUTABLE
    assert r.headers["content-disposition"] == "inline; filename*=utf-8''image-1.png"
