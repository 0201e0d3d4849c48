"""ZIP export over HTTP: streamed, exact length, readable back, filters and parts."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from typing import Any

import httpx

from bananabatch.api.app import create_app
from bananabatch.config import Settings
from bananabatch.db.models import JobStatus, OutputStatus
from bananabatch.runtime import Runtime, build_runtime
from tests.api.helpers import API, BASE_URL, error_of, insert_job


def _read_zip(response: httpx.Response) -> tuple[zipfile.ZipFile, list[dict[str, Any]]]:
    zf = zipfile.ZipFile(io.BytesIO(response.content))
    assert zf.testzip() is None  # every CRC checks
    rows = [json.loads(line) for line in zf.read("manifest.jsonl").decode().splitlines()]
    csv_rows = list(csv.DictReader(io.StringIO(zf.read("manifest.csv").decode("utf-8-sig"))))
    assert [r["output_id"] for r in csv_rows] == [r["output_id"] for r in rows]
    return zf, rows


async def test_export_whole_job(client: httpx.AsyncClient, runtime: Runtime) -> None:
    statuses = [OutputStatus.succeeded] * 3 + [OutputStatus.failed]
    job = insert_job(runtime, statuses=statuses, name="Red cars")
    r = await client.get(f"{API}/jobs/{job.job_id}/export")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    assert r.headers["content-length"] == str(len(r.content))
    disposition = r.headers["content-disposition"]
    assert disposition.startswith("attachment;") and "red-cars" in disposition
    zf, rows = _read_zip(r)
    images = sorted(n for n in zf.namelist() if n.endswith(".png"))
    assert images == [
        "01-a-prompt/run-001/image-1.png",
        "01-a-prompt/run-001/image-2.png",
        "01-a-prompt/run-001/image-3.png",
    ]
    assert [row["output_id"] for row in rows] == job.output_ids
    assert {row["status"] for row in rows} == {"succeeded", "failed"}
    info = zf.getinfo(images[0])
    assert info.compress_type == zipfile.ZIP_STORED


async def test_export_succeeded_only_batch_and_selection(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    job = insert_job(runtime, statuses=[OutputStatus.succeeded, OutputStatus.failed] * 2)
    r = await client.get(f"{API}/jobs/{job.job_id}/export", params={"succeeded_only": "true"})
    _, rows = _read_zip(r)
    assert [row["output_id"] for row in rows] == job.succeeded

    r = await client.get(f"{API}/jobs/{job.job_id}/export", params={"batch_id": job.batch_ids[0]})
    assert r.status_code == 200
    r = await client.get(f"{API}/jobs/{job.job_id}/export", params={"batch_id": "nope"})
    assert r.status_code == 404
    error_of(r)

    pick = job.succeeded[1]
    r = await client.post(f"{API}/jobs/{job.job_id}/export", json={"output_ids": [pick]})
    assert r.status_code == 200, r.text
    zf, rows = _read_zip(r)
    assert [row["output_id"] for row in rows] == [pick]
    assert len([n for n in zf.namelist() if n.endswith(".png")]) == 1

    other = insert_job(runtime, statuses=[OutputStatus.succeeded])
    r = await client.post(f"{API}/jobs/{job.job_id}/export", json={"output_ids": other.output_ids})
    assert r.status_code == 422
    assert "do not belong" in error_of(r)["message"]
    r = await client.post(f"{API}/jobs/{job.job_id}/export", json={"output_ids": []})
    assert r.status_code == 422


async def test_export_mid_run_marks_pending(client: httpx.AsyncClient, runtime: Runtime) -> None:
    job = insert_job(
        runtime,
        statuses=[OutputStatus.succeeded, OutputStatus.pending, OutputStatus.pending],
        job_status=JobStatus.running,
    )
    r = await client.get(f"{API}/jobs/{job.job_id}/export")
    zf, rows = _read_zip(r)
    assert [row["status"] for row in rows] == ["succeeded", "pending", "pending"]
    assert len([n for n in zf.namelist() if n.endswith(".png")]) == 1


async def test_export_unknown_job(client: httpx.AsyncClient) -> None:
    for r in (
        await client.get(f"{API}/jobs/nope/export"),
        await client.get(f"{API}/jobs/nope/export/parts"),
        await client.post(f"{API}/jobs/nope/export", json={"output_ids": ["x"]}),
    ):
        assert r.status_code == 404
        assert error_of(r)["code"] == "not_found"


async def test_export_parts_listing_and_download(settings: Settings) -> None:
    rt = build_runtime(settings.model_copy(update={"export_part_bytes": 4096}))
    try:
        job = insert_job(rt, statuses=[OutputStatus.succeeded] * 10)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(rt)), base_url=BASE_URL
        ) as c:
            r = await c.get(f"{API}/jobs/{job.job_id}/export/parts")
            assert r.status_code == 200, r.text
            listing = r.json()
            assert listing["part_bytes"] == 4096
            parts = listing["parts"]
            assert len(parts) > 1
            assert sum(p["outputs"] for p in parts) == 10
            seen: list[str] = []
            for p in parts:
                assert p["url"].endswith(f"part={p['part']}")
                part = await c.get(p["url"])
                assert part.status_code == 200
                assert f"part{p['part']}of{len(parts)}" in part.headers["content-disposition"]
                _, rows = _read_zip(part)
                seen += [row["output_id"] for row in rows]
            assert seen == job.output_ids
            r = await c.get(f"{API}/jobs/{job.job_id}/export", params={"part": len(parts) + 1})
            assert r.status_code == 404
            r = await c.get(f"{API}/jobs/{job.job_id}/export", params={"part": 0})
            assert r.status_code == 422
            r = await c.get(
                f"{API}/jobs/{job.job_id}/export/parts", params={"succeeded_only": "true"}
            )
            assert "succeeded_only=true" in r.json()["parts"][0]["url"]
    finally:
        rt.engine.dispose()
