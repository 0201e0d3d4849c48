"""The API on S3 storage (moto in server mode): uploads, images, thumbnails, byte
ranges, export and health, answered as they are with local storage."""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest
from PIL import Image

from bananabatch.api.app import create_app
from bananabatch.config import Settings
from bananabatch.db.models import OutputStatus
from bananabatch.runtime import Runtime, build_runtime
from bananabatch.storage.keys import output_key
from tests.api.helpers import API, BASE_URL, error_of, insert_job, photos, upload
from tests.fakes.s3_server import PREFIX, S3Bucket

IMMUTABLE = "private, max-age=31536000, immutable"


@pytest.fixture
def s3_runtime(s3_settings: Settings) -> Iterator[Runtime]:
    rt = build_runtime(s3_settings)
    yield rt
    rt.engine.dispose()


@pytest.fixture
async def s3_client(s3_runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(s3_runtime)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as c:
        yield c


@dataclass
class Served:
    client: httpx.AsyncClient
    runtime: Runtime


@pytest.fixture(params=["local", "s3"])
async def served(request: pytest.FixtureRequest, settings: Settings) -> AsyncIterator[Served]:
    """The same app on local storage (sendfile) or on S3 (streamed through the port)."""
    if request.param == "s3":
        rt = build_runtime(request.getfixturevalue("s3_settings"))
    else:
        rt = build_runtime(settings)
    app = create_app(rt)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as c:
        yield Served(c, rt)
    rt.engine.dispose()


async def test_uploads_land_in_the_bucket_and_are_served(
    s3_client: httpx.AsyncClient, s3_bucket: S3Bucket
) -> None:
    files = photos({"": 2})
    r = await upload(s3_client, None, files)
    assert r.status_code == 200, r.text
    accepted = r.json()["accepted"]
    keys = s3_bucket.raw_keys()
    for item in accepted:
        sha = item["asset_id"]
        assert f"{PREFIX}/assets/{sha[:2]}/{sha}.jpg" in keys
        assert f"{PREFIX}/thumbs/{sha[:2]}/{sha}.webp" in keys
    image = await s3_client.get(f"{API}/assets/{accepted[0]['asset_id']}/image")
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(image.content)).size == (
        accepted[0]["width"],
        accepted[0]["height"],
    )
    thumb = await s3_client.get(accepted[0]["thumbnail_url"])
    assert thumb.status_code == 200
    assert Image.open(io.BytesIO(thumb.content)).format == "WEBP"
    again = await upload(s3_client, None, files)  # content-addressed: deduped
    assert [a["duplicate"] for a in again.json()["accepted"]] == [True, True]


async def test_output_image_and_thumbnail_from_s3(
    s3_client: httpx.AsyncClient, s3_runtime: Runtime
) -> None:
    job = insert_job(s3_runtime, statuses=[OutputStatus.succeeded, OutputStatus.failed])
    oid = job.succeeded[0]
    stored = s3_runtime.storage.get_bytes(output_key(job.job_id, oid, "png"))
    r = await s3_client.get(f"{API}/outputs/{oid}/image")
    assert r.status_code == 200
    assert r.content == stored
    assert r.headers["content-type"] == "image/png"
    assert r.headers["content-length"] == str(len(stored))
    assert r.headers["cache-control"] == IMMUTABLE
    assert r.headers["accept-ranges"] == "bytes"
    assert r.headers["content-disposition"] == "inline; filename*=utf-8''image-1.png"
    cached = await s3_client.get(
        f"{API}/outputs/{oid}/image", headers={"If-None-Match": r.headers["etag"]}
    )
    assert cached.status_code == 304
    thumb = await s3_client.get(f"{API}/outputs/{oid}/thumbnail")
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/webp"
    assert Image.open(io.BytesIO(thumb.content)).format == "WEBP"


async def test_an_image_missing_from_the_bucket_is_404(
    s3_client: httpx.AsyncClient, s3_runtime: Runtime
) -> None:
    job = insert_job(s3_runtime, statuses=[OutputStatus.succeeded])
    s3_runtime.storage.delete(output_key(job.job_id, job.succeeded[0], "png"))
    r = await s3_client.get(f"{API}/outputs/{job.succeeded[0]}/image")
    assert r.status_code == 404
    assert error_of(r)["message"] == "The image is missing from storage."


def _big_output(rt: Runtime, size: int) -> tuple[str, bytes]:
    """An output whose stored object is `size` random bytes (the route does not decode)."""
    job = insert_job(rt, statuses=[OutputStatus.succeeded])
    data = os.urandom(size)
    rt.storage.put_bytes(output_key(job.job_id, job.succeeded[0], "png"), data)
    return job.succeeded[0], data


@pytest.mark.parametrize(
    ("header", "status", "span"),
    [
        ("bytes=10-19", 206, (10, 20)),
        ("bytes=300000-", 206, (300_000, 300_001)),
        ("bytes=-7", 206, (300_001 - 7, 300_001)),
        ("bytes=299990-400000", 206, (299_990, 300_001)),
        ("bytes=0-0", 206, (0, 1)),
    ],
)
async def test_byte_ranges_match_local_storage(
    served: Served, header: str, status: int, span: tuple[int, int] | None
) -> None:
    oid, data = _big_output(served.runtime, 300_001)
    r = await served.client.get(f"{API}/outputs/{oid}/image", headers={"Range": header})
    assert r.status_code == status
    start, end = span or (0, len(data))
    assert r.content == data[start:end]
    assert r.headers["content-length"] == str(end - start)
    if span is not None:
        assert r.headers["content-range"] == f"bytes {start}-{end - 1}/{len(data)}"


@pytest.mark.parametrize("header", ["bytes=0-1,5-6", "bytes=5-2", "lines=1-2", "bytes=x-"])
async def test_other_ranges_get_the_whole_image_from_s3(
    s3_client: httpx.AsyncClient, s3_runtime: Runtime, header: str
) -> None:
    """Local storage (Starlette) answers several ranges with multipart/byteranges and a
    malformed one with 400; through the port the whole image comes back instead, which
    HTTP allows (a server may ignore Range; browsers ask images for one range)."""
    oid, data = _big_output(s3_runtime, 5000)
    r = await s3_client.get(f"{API}/outputs/{oid}/image", headers={"Range": header})
    assert r.status_code == 200 and r.content == data


async def test_a_range_past_the_end_is_416(served: Served) -> None:
    oid, _ = _big_output(served.runtime, 1000)
    r = await served.client.get(f"{API}/outputs/{oid}/image", headers={"Range": "bytes=1000-"})
    assert r.status_code == 416
    assert r.headers["content-range"] == "bytes */1000"


async def test_a_stale_if_range_gets_the_whole_image(served: Served) -> None:
    oid, data = _big_output(served.runtime, 5000)
    first = await served.client.get(f"{API}/outputs/{oid}/image")
    ranged = {"Range": "bytes=0-9"}
    fresh = await served.client.get(
        f"{API}/outputs/{oid}/image", headers={**ranged, "If-Range": first.headers["etag"]}
    )
    assert fresh.status_code == 206 and fresh.content == data[:10]
    stale = await served.client.get(
        f"{API}/outputs/{oid}/image", headers={**ranged, "If-Range": '"o-other-1"'}
    )
    assert stale.status_code == 200 and stale.content == data


async def test_export_reads_the_job_from_s3(
    s3_client: httpx.AsyncClient, s3_runtime: Runtime
) -> None:
    job = insert_job(s3_runtime, statuses=[OutputStatus.succeeded] * 3 + [OutputStatus.failed])
    r = await s3_client.get(f"{API}/jobs/{job.job_id}/export")
    assert r.status_code == 200
    assert r.headers["content-length"] == str(len(r.content))
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        assert zf.testzip() is None  # every CRC checks out
        images = [n for n in zf.namelist() if n.endswith(".png")]
        assert len(images) == 3
        for oid, name in zip(job.succeeded, sorted(images), strict=True):
            stored = s3_runtime.storage.get_bytes(output_key(job.job_id, oid, "png"))
            assert zf.read(name) == stored
        assert len(zf.read("manifest.jsonl").splitlines()) == 4


async def test_health_names_the_storage(s3_client: httpx.AsyncClient, s3_bucket: S3Bucket) -> None:
    r = await s3_client.get(f"{API}/health")
    assert r.status_code == 200
    body = r.json()
    assert body["ok"] is True
    assert body["storage"] == {"kind": "s3", "bucket": s3_bucket.name, "ok": True}
    assert "secret" not in r.text.lower()


async def test_health_when_the_bucket_goes_away(
    s3_client: httpx.AsyncClient, s3_bucket: S3Bucket
) -> None:
    s3_bucket.client.delete_bucket(Bucket=s3_bucket.name)
    try:
        r = await s3_client.get(f"{API}/health")
    finally:
        s3_bucket.client.create_bucket(Bucket=s3_bucket.name)
    body = r.json()
    assert body["ok"] is False
    assert body["storage"] == {
        "kind": "s3",
        "bucket": s3_bucket.name,
        "ok": False,
        "error": "no_bucket",
    }


async def test_health_names_the_storage_before_the_runtime_exists(s3_settings: Settings) -> None:
    app = create_app(settings=s3_settings)  # the lifespan would build the runtime
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as c:
        r = await c.get(f"{API}/health")
    assert r.json()["storage"] == {"kind": "s3", "ok": False, "error": "starting"}
