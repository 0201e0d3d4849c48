"""Thumbnails answered before FastAPI (`api/thumb_fast_path.py`): the same bytes and
ETags as the route, no stale thumbnail after a regeneration, authentication first, and
everything the fast path cannot answer left to the route."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from bananabatch.api.routes import outputs as output_routes
from bananabatch.api.routes._files import IMMUTABLE
from bananabatch.db.models import OutputStatus
from bananabatch.runtime import Runtime
from bananabatch.storage.keys import output_thumb_key
from tests import labelled
from tests.api.helpers import API, create_dataset, insert_job, upload


@pytest.fixture
def route_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Output ids whose thumbnail the route (not the fast path) answered."""
    calls: list[str] = []
    original = output_routes._thumbnail_response

    def counting(request, storage, output):  # type: ignore[no-untyped-def]
        calls.append(output.id)
        return original(request, storage, output)

    monkeypatch.setattr(output_routes, "_thumbnail_response", counting)
    yield calls


async def test_a_made_thumbnail_is_served_without_the_route(
    client: httpx.AsyncClient, runtime: Runtime, route_calls: list[str]
) -> None:
    job = insert_job(runtime, statuses=[OutputStatus.succeeded, OutputStatus.succeeded])
    oid, other = job.succeeded
    runtime.storage.delete(output_thumb_key(job.job_id, oid))  # made on first request
    url = (await client.get(f"{API}/outputs/{oid}")).json()["thumbnail_url"]
    assert url.startswith(f"{API}/outputs/{oid}/thumbnail?v=0.")

    first = await client.get(url)
    assert first.status_code == 200 and route_calls == [oid]
    second = await client.get(url)
    third = await client.get(f"{API}/outputs/{other}/thumbnail")
    assert route_calls == [oid]  # both answered by the fast path
    assert second.content == first.content and second.headers["etag"] == first.headers["etag"]
    assert second.headers["content-type"] == "image/webp"
    assert second.headers["cache-control"] == IMMUTABLE
    assert second.headers["content-length"] == str(len(second.content))
    assert third.status_code == 200 and third.content == runtime.storage.get_bytes(
        output_thumb_key(job.job_id, other)
    )
    again = await client.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.headers["etag"] == first.headers["etag"]
    assert route_calls == [oid]


async def test_what_the_fast_path_cannot_answer_goes_to_the_route(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    job = insert_job(runtime, statuses=[OutputStatus.pending, OutputStatus.succeeded])
    pending, done = job.output_ids
    r = await client.get(f"{API}/outputs/{pending}/thumbnail")
    assert r.status_code == 404 and "has no image" in r.json()["error"]["message"]
    r = await client.get(f"{API}/outputs/{'0' * 32}/thumbnail")
    assert r.status_code == 404
    assert (await client.get(f"{API}/outputs/{done}/thumbnail")).status_code == 200
    r = await client.delete(f"{API}/jobs/{job.job_id}")
    assert r.status_code in (200, 204), r.text
    assert (await client.get(f"{API}/outputs/{done}/thumbnail")).status_code == 404


async def test_a_regenerated_output_never_shows_its_old_thumbnail(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    ds = await create_dataset(client, "signs")
    await upload(client, ds, list(labelled.yolo().files.items()), as_paths=True)
    r = await client.post(
        f"{API}/jobs",
        json={"mode": "automatic", "dataset_id": ds, "prompt": "flip", "variations": 1, "seed": 3},
    )
    job_id = r.json()["id"]
    await runtime.start()
    await asyncio.wait_for(runtime.orchestrator.wait_for_jobs([job_id]), 120)
    before = (await client.get(f"{API}/jobs/{job_id}/outputs")).json()["items"][0]
    old = await client.get(before["thumbnail_url"])
    assert (await client.get(before["thumbnail_url"])).status_code == 200  # fast path now
    source = await client.get(before["source_thumbnail_url"])
    asset_id = before["source_asset_id"]
    assert source.status_code == 200 and source.headers["etag"] == f'"t-{asset_id}"'
    assert source.headers["content-type"] == "image/webp"

    await client.post(
        f"{API}/jobs/{job_id}/review", json={"decision": "rejected", "output_ids": [before["id"]]}
    )
    r = await client.post(f"{API}/jobs/{job_id}/regenerate-rejected", json={"expected_outputs": 1})
    assert r.status_code == 200, r.text
    await asyncio.wait_for(runtime.orchestrator.wait_for_jobs([job_id]), 120)
    await runtime.orchestrator.stop()

    after = (await client.get(f"{API}/jobs/{job_id}/outputs")).json()["items"][0]
    assert after["thumbnail_url"] != before["thumbnail_url"]  # a new URL: no browser cache
    assert after["image_url"] != before["image_url"]
    for url in (after["thumbnail_url"], before["thumbnail_url"]):
        new = await client.get(url)
        assert new.status_code == 200
        assert new.headers["etag"] != old.headers["etag"]
        image = runtime.storage.get_bytes(output_thumb_key(job_id, before["id"]))
        assert new.content == image


async def test_asset_thumbnails_and_authentication(
    anon: httpx.AsyncClient, secured_runtime: Runtime
) -> None:
    job = insert_job(secured_runtime, statuses=[OutputStatus.succeeded])
    r = await anon.get(f"{API}/outputs/{job.succeeded[0]}/thumbnail")
    assert r.status_code == 401
    r = await anon.get(f"{API}/assets/{'a' * 64}/thumbnail")
    assert r.status_code == 401
