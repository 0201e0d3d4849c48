"""Jobs over HTTP: estimate, preview, create, list/detail with ETags, actions, outputs."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from bananabatch.api.app import create_app
from bananabatch.config import Settings
from bananabatch.db.models import Job, JobStatus, OutputStatus
from bananabatch.runtime import Runtime, build_runtime
from tests.api.helpers import API, BASE_URL, create_dataset, error_of, insert_job, photos, upload


@pytest.fixture
def wakes(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts orchestrator wake-ups (the orchestrator itself is not running here)."""
    calls: list[int] = []
    monkeypatch.setattr(runtime.orchestrator, "wake", lambda: calls.append(1))
    return calls


async def _dataset(client: httpx.AsyncClient, classes: dict[str, int] | None = None) -> str:
    ds = await create_dataset(client)
    r = await upload(client, ds, photos(classes or {"cat": 3, "dog": 2}))
    assert r.status_code == 200 and not r.json()["errors"]
    return ds


def _auto(ds: str, **extra: Any) -> dict[str, Any]:
    return {"mode": "automatic", "dataset_id": ds, "prompt": "at night, {rain|snow}", **extra}


async def _refs(client: httpx.AsyncClient, n: int) -> list[str]:
    r = await upload(client, None, [(f"ref{i}.jpg", photos({"": n})[i][1]) for i in range(n)])
    assert r.status_code == 200 and not r.json()["errors"], r.text
    return [f["asset_id"] for f in r.json()["accepted"]]


# ---- estimate and preview -----------------------------------------------------------------


async def test_estimate_counts_without_creating(client: httpx.AsyncClient) -> None:
    ds = await _dataset(client)
    r = await client.post(f"{API}/jobs/estimate", json=_auto(ds, variations=3))
    assert r.status_code == 200, r.text
    est = r.json()
    assert est["outputs"] == 15 and est["batches"] == 2
    assert est["tasks"] == 5  # one source per task, 3 variations fit in one task
    assert est["model"] == "classic" and est["cost_usd"] == 0.0
    assert (await client.get(f"{API}/jobs")).json()["total"] == 0


async def test_estimate_semi_auto_splits_counts_into_runs(client: httpx.AsyncClient) -> None:
    refs = await _refs(client, 2)
    body = {
        "mode": "semi_auto",
        "reference_asset_ids": refs,
        "prompts": [{"prompt": "a", "count": 40}],
    }
    est = (await client.post(f"{API}/jobs/estimate", json=body)).json()
    assert (est["outputs"], est["tasks"], est["batches"]) == (40, 10, 1)


async def test_preview_renders_prompts(client: httpx.AsyncClient) -> None:
    ds = await _dataset(client)
    r = await client.post(
        f"{API}/jobs/preview?limit=4", json=_auto(ds, prompt="{class} {filename}")
    )
    assert r.status_code == 200, r.text
    previews = r.json()
    assert len(previews) == 4
    assert previews[0]["prompt"] == "cat 000.jpg"
    assert previews[0]["source_path"] == "cat/000.jpg"


async def test_preview_failures_are_actionable(client: httpx.AsyncClient) -> None:
    ds = await _dataset(client)
    r = await client.post(f"{API}/jobs/preview", json=_auto(ds, prompt="{class"))
    assert r.status_code == 422 and error_of(r)["code"] == "bad_template"
    for limit in (0, 51):
        r = await client.post(f"{API}/jobs/preview?limit={limit}", json=_auto(ds))
        assert r.status_code == 422 and "limit" in error_of(r)["message"]
    r = await client.post(f"{API}/jobs/preview", json=_auto("missing"))
    assert r.status_code == 404 and error_of(r)["code"] == "not_found"


@pytest.mark.parametrize(
    ("mutate", "code", "needle"),
    [
        (lambda b: b | {"model": "dall-e-3"}, "unknown_model", "Known models"),
        (lambda b: b | {"model": "gemini-x/../files"}, "unknown_model", "not a model id"),
        (lambda b: b | {"prompt": "a {red|green"}, "bad_template", "character"),
        (lambda b: b | {"variations": 0}, "validation_failed", "variations"),
        (lambda b: b | {"variations": 101}, "validation_failed", "variations"),
        (lambda b: b | {"dataset_id": "missing"}, "not_found", "Dataset"),
        (lambda b: b | {"options": {"aspect_ratio": "7:3"}}, "validation_failed", "7:3"),
        (lambda b: b | {"mode": "manual"}, "validation_failed", "mode"),
        (lambda b: {k: v for k, v in b.items() if k != "prompt"}, "validation_failed", "prompt"),
    ],
)
async def test_bad_job_requests_are_actionable_422s(
    client: httpx.AsyncClient, mutate: Any, code: str, needle: str
) -> None:
    ds = await _dataset(client, {"cat": 1})
    for path in ("/jobs/estimate", "/jobs"):
        r = await client.post(f"{API}{path}", json=mutate(_auto(ds)))
        assert r.status_code in (404, 422), r.text
        err = error_of(r)
        assert err["code"] == code, err
        assert needle in err["message"], err["message"]
    assert (await client.get(f"{API}/jobs")).json()["total"] == 0


async def test_bad_template_points_at_the_position(client: httpx.AsyncClient) -> None:
    ds = await _dataset(client, {"cat": 1})
    r = await client.post(f"{API}/jobs", json=_auto(ds, prompt="ok {red|green"))
    err = error_of(r)
    assert err["code"] == "bad_template"
    assert isinstance(err["details"]["position"], int)


async def test_empty_dataset_is_refused(client: httpx.AsyncClient) -> None:
    ds = await create_dataset(client)
    r = await client.post(f"{API}/jobs", json=_auto(ds))
    assert r.status_code == 422
    assert "no images" in error_of(r)["message"]


async def test_semi_auto_counts_out_of_range(client: httpx.AsyncClient) -> None:
    for count in (0, 1001):
        body = {"mode": "semi_auto", "prompts": [{"prompt": "a", "count": count}]}
        r = await client.post(f"{API}/jobs", json=body)
        assert r.status_code == 422
        assert error_of(r)["details"][0]["field"] == "prompts[0].count"
    r = await client.post(f"{API}/jobs", json={"mode": "semi_auto", "prompts": []})
    assert r.status_code == 422


async def test_too_many_references_for_the_model(settings: Settings) -> None:
    keyed = settings.model_copy(update={"gemini_api_key": SecretStr("test-key")})
    rt = build_runtime(keyed)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(rt)), base_url=BASE_URL
        ) as c:
            refs = await _refs(c, 4)
            body = {
                "mode": "semi_auto",
                "model": "gemini-2.5-flash-image",
                "reference_asset_ids": refs,
                "prompts": [{"prompt": "a", "count": 4}],
            }
            r = await c.post(f"{API}/jobs/estimate", json=body)
    finally:
        rt.engine.dispose()
    assert r.status_code == 422
    err = error_of(r)
    assert err["code"] == "too_many_references"
    assert err["details"]["max"] == 3


async def test_malformed_json_is_a_422_json_error(client: httpx.AsyncClient) -> None:
    r = await client.post(
        f"{API}/jobs",
        content=b'{"mode": "automatic",',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 422
    err = error_of(r)
    assert err["code"] == "validation_failed"
    assert "not valid JSON" in err["message"]
    r = await client.post(
        f"{API}/jobs", content=b"[]", headers={"content-type": "application/json"}
    )
    assert r.status_code == 422


# ---- create, list, detail ----------------------------------------------------------------


async def test_create_job_wakes_the_scheduler_and_answers_detail(
    client: httpx.AsyncClient, wakes: list[int]
) -> None:
    ds = await _dataset(client)
    r = await client.post(f"{API}/jobs", json=_auto(ds, variations=2, name="night"))
    assert r.status_code == 201, r.text
    job = r.json()
    assert r.headers["location"] == f"{API}/jobs/{job['id']}"
    assert wakes == [1]
    assert job["name"] == "night" and job["status"] == "queued" and job["mode"] == "automatic"
    assert job["warnings"] == []  # classic: current, no key to check
    assert job["counts"] == {
        "pending": 10, "succeeded": 0, "blocked": 0, "failed": 0, "cancelled": 0, "total": 10,
    }  # fmt: skip
    assert job["progress"] == 0.0 and job["queue_position"] == 1
    assert [b["name"] for b in job["batches"]] == ["cat", "dog"]
    assert [b["counts"]["total"] for b in job["batches"]] == [6, 4]
    assert job["options"]["output_format"] == "png"
    assert job["spec"]["prompt"] == "at night, {rain|snow}"
    assert job["created_at"].endswith("Z")


async def test_list_filters_paginates_and_ranks(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    ds = await _dataset(client, {"cat": 1})
    first = (await client.post(f"{API}/jobs", json=_auto(ds))).json()
    second = (await client.post(f"{API}/jobs", json=_auto(ds, priority=5))).json()
    done = insert_job(
        runtime, statuses=[OutputStatus.succeeded] * 2, job_status=JobStatus.completed
    )

    listing = (await client.get(f"{API}/jobs")).json()
    assert listing["total"] == 3
    assert listing["server_time"].endswith("Z")
    by_id = {j["id"]: j for j in listing["items"]}
    assert by_id[second["id"]]["queue_position"] == 1  # higher priority first
    assert by_id[first["id"]]["queue_position"] == 2
    assert by_id[done.job_id]["queue_position"] is None
    assert by_id[done.job_id]["counts"]["succeeded"] == 2
    assert by_id[done.job_id]["progress"] == 1.0

    only_done = (await client.get(f"{API}/jobs?status=completed")).json()
    assert [j["id"] for j in only_done["items"]] == [done.job_id]
    both = (await client.get(f"{API}/jobs?status=completed&status=queued")).json()
    assert both["total"] == 3
    semi = (await client.get(f"{API}/jobs?mode=semi_auto")).json()
    assert [j["id"] for j in semi["items"]] == [done.job_id]
    page = (await client.get(f"{API}/jobs?limit=1&offset=1")).json()
    assert page["total"] == 3 and len(page["items"]) == 1

    for bad in (
        "status=nonsense",
        "mode=manual",
        "limit=0",
        "limit=501",
        "offset=-1",
        "offset=9223372036854775808",  # past a 64-bit DB integer: was a 500
        "offset=99999999999999999999999",
    ):
        r = await client.get(f"{API}/jobs?{bad}")
        assert r.status_code == 422, bad
        error_of(r)


async def test_list_etag_and_updated_since(client: httpx.AsyncClient, runtime: Runtime) -> None:
    ds = await _dataset(client, {"cat": 1})
    job = (await client.post(f"{API}/jobs", json=_auto(ds))).json()
    r = await client.get(f"{API}/jobs")
    etag = r.headers["etag"]
    server_time = r.json()["server_time"]

    r = await client.get(f"{API}/jobs", headers={"If-None-Match": etag})
    assert r.status_code == 304 and r.content == b""
    assert r.headers["etag"] == etag

    later = (await client.get(f"{API}/jobs", params={"updated_since": server_time})).json()
    assert later["items"] == []

    await client.post(f"{API}/jobs/{job['id']}/pause")
    r = await client.get(f"{API}/jobs", headers={"If-None-Match": etag})
    assert r.status_code == 200 and r.headers["etag"] != etag
    assert r.json()["items"][0]["status"] == "paused"
    later = (await client.get(f"{API}/jobs", params={"updated_since": server_time})).json()
    assert [j["id"] for j in later["items"]] == [job["id"]]
    future = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    assert (await client.get(f"{API}/jobs", params={"updated_since": future})).json()["items"] == []
    # the edges of the calendar in far time zones have no UTC equivalent: was a 500
    edges = {"0001-01-01T00:00:00+14:00": 1, "9999-12-31T23:59:59-14:00": 0}
    for edge, count in edges.items():
        r = await client.get(f"{API}/jobs", params={"updated_since": edge})
        assert r.status_code == 200, r.text
        assert len(r.json()["items"]) == count


async def test_detail_etag_changes_with_revision(client: httpx.AsyncClient) -> None:
    ds = await _dataset(client, {"cat": 1})
    job = (await client.post(f"{API}/jobs", json=_auto(ds))).json()
    r = await client.get(f"{API}/jobs/{job['id']}")
    etag = r.headers["etag"]
    assert r.headers["cache-control"] == "no-cache"
    assert (
        await client.get(f"{API}/jobs/{job['id']}", headers={"If-None-Match": etag})
    ).status_code == 304
    await client.patch(f"{API}/jobs/{job['id']}", json={"priority": 7})
    r = await client.get(f"{API}/jobs/{job['id']}", headers={"If-None-Match": etag})
    assert r.status_code == 200 and r.json()["priority"] == 7


async def test_unknown_job_is_404_everywhere(client: httpx.AsyncClient) -> None:
    for method, path in [
        ("GET", "/jobs/deadbeef"),
        ("PATCH", "/jobs/deadbeef"),
        ("POST", "/jobs/deadbeef/cancel"),
        ("POST", "/jobs/deadbeef/pause"),
        ("POST", "/jobs/deadbeef/resume"),
        ("POST", "/jobs/deadbeef/retry-failed"),
        ("GET", "/jobs/deadbeef/outputs"),
    ]:
        body = {"priority": 1} if method == "PATCH" else None
        r = await client.request(method, f"{API}{path}", json=body)
        assert r.status_code == 404, (method, path, r.text)
        assert error_of(r)["code"] == "not_found"


# ---- actions ---------------------------------------------------------------------------


async def test_pause_resume_cancel_and_conflicts(
    client: httpx.AsyncClient, wakes: list[int]
) -> None:
    ds = await _dataset(client, {"cat": 2})
    jid = (await client.post(f"{API}/jobs", json=_auto(ds))).json()["id"]
    r = await client.post(f"{API}/jobs/{jid}/resume")
    assert r.status_code == 409
    assert error_of(r)["code"] == "conflict"

    r = await client.post(f"{API}/jobs/{jid}/pause")
    assert r.status_code == 200 and r.json()["status"] == "paused"
    assert r.json()["queue_position"] is None
    r = await client.post(f"{API}/jobs/{jid}/resume")
    assert r.status_code == 200 and r.json()["status"] == "queued"

    r = await client.post(f"{API}/jobs/{jid}/cancel")
    assert r.status_code == 200
    assert r.json()["status"] == "cancelled"
    assert r.json()["counts"]["cancelled"] == 2
    r = await client.post(f"{API}/jobs/{jid}/cancel")
    assert r.status_code == 409
    assert "already cancelled" in error_of(r)["message"]
    assert len(wakes) >= 4


async def test_priority_patch(client: httpx.AsyncClient) -> None:
    ds = await _dataset(client, {"cat": 1})
    jid = (await client.post(f"{API}/jobs", json=_auto(ds))).json()["id"]
    r = await client.patch(f"{API}/jobs/{jid}", json={"priority": -3})
    assert r.status_code == 200 and r.json()["priority"] == -3
    for bad in ({"priority": 101}, {"priority": "high"}, {}, {"priority": 1, "name": "x"}):
        r = await client.patch(f"{API}/jobs/{jid}", json=bad)
        assert r.status_code == 422, bad
        error_of(r)


async def test_retry_failed_all_or_selected(
    client: httpx.AsyncClient, runtime: Runtime, wakes: list[int]
) -> None:
    job = insert_job(
        runtime,
        statuses=[
            OutputStatus.succeeded,
            OutputStatus.failed,
            OutputStatus.failed,
            OutputStatus.blocked,
        ],
    )
    blocked = job.output_ids[3]
    r = await client.post(f"{API}/jobs/{job.job_id}/retry-failed", json={"output_ids": [blocked]})
    assert r.status_code == 200, r.text
    assert r.json()["requeued"] == 1
    assert r.json()["job"]["counts"]["pending"] == 1
    r = await client.post(f"{API}/jobs/{job.job_id}/retry-failed")
    assert r.json()["requeued"] == 2
    assert r.json()["job"]["counts"] == {
        "pending": 3, "succeeded": 1, "blocked": 0, "failed": 0, "cancelled": 0, "total": 4,
    }  # fmt: skip
    assert r.json()["job"]["status"] == "queued"
    r = await client.post(f"{API}/jobs/{job.job_id}/retry-failed")
    assert r.json()["requeued"] == 0
    assert len(wakes) == 2
    r = await client.post(f"{API}/jobs/{job.job_id}/retry-failed", json={"output_ids": "x"})
    assert r.status_code == 422


# ---- outputs ---------------------------------------------------------------------------


async def test_outputs_cursor_pagination_and_filters(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    statuses = [OutputStatus.succeeded, OutputStatus.failed, OutputStatus.pending] * 4
    job = insert_job(runtime, statuses=statuses)
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 5}
        if cursor:
            params["cursor"] = cursor
        r = await client.get(f"{API}/jobs/{job.job_id}/outputs", params=params)
        assert r.status_code == 200, r.text
        seen += [o["id"] for o in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if not cursor:
            break
    assert seen == job.output_ids

    ok = (await client.get(f"{API}/jobs/{job.job_id}/outputs?status=succeeded")).json()["items"]
    assert [o["id"] for o in ok] == job.succeeded
    first = ok[0]
    version = f"0.{int(datetime.fromisoformat(first['finished_at']).timestamp())}"
    assert first["image_url"] == f"{API}/outputs/{first['id']}/image?v={version}"
    assert first["thumbnail_url"] == f"{API}/outputs/{first['id']}/thumbnail?v={version}"
    assert first["width"] == 24 and first["mime_type"] == "image/png"
    failed = (
        await client.get(f"{API}/jobs/{job.job_id}/outputs?status=failed&status=pending")
    ).json()["items"]
    assert len(failed) == 8
    assert all(o["image_url"] is None for o in failed)
    assert {o["error"] for o in failed if o["status"] == "failed"} == {"the provider refused"}
    by_batch = await client.get(
        f"{API}/jobs/{job.job_id}/outputs", params={"batch_id": job.batch_ids[0], "limit": 500}
    )
    assert len(by_batch.json()["items"]) == 12
    other = await client.get(f"{API}/jobs/{job.job_id}/outputs", params={"batch_id": "zzz"})
    assert other.json()["items"] == []

    forged = base64.urlsafe_b64encode(b"99999999999999999999999\x1fzzz").decode()
    for bad in ({"cursor": "%%%"}, {"cursor": forged}, {"status": "bogus"}, {"limit": 1000}):
        r = await client.get(f"{API}/jobs/{job.job_id}/outputs", params=bad)
        assert r.status_code == 422, bad
        error_of(r)


async def test_outputs_filter_by_source(client: httpx.AsyncClient, runtime: Runtime) -> None:
    ds = await _dataset(client, {"cat": 2})
    jid = (await client.post(f"{API}/jobs", json=_auto(ds, variations=2))).json()["id"]
    r = await client.get(f"{API}/jobs/{jid}/outputs", params={"source": "cat/001.jpg"})
    items = r.json()["items"]
    assert len(items) == 2 and {o["source_path"] for o in items} == {"cat/001.jpg"}
    assert items[0]["source_thumbnail_url"].startswith(f"{API}/assets/")
    by_asset = await client.get(
        f"{API}/jobs/{jid}/outputs", params={"source": items[0]["source_asset_id"]}
    )
    assert [o["id"] for o in by_asset.json()["items"]] == [o["id"] for o in items]


def test_job_queries_use_few_statements(runtime: Runtime) -> None:
    """List and detail cost a fixed number of queries whatever the number of jobs (no N+1)."""
    from sqlalchemy import event

    from bananabatch.services import queries

    for _ in range(6):
        insert_job(runtime, statuses=[OutputStatus.succeeded, OutputStatus.pending])
    statements: list[str] = []

    def count(*_args: Any) -> None:
        statements.append("q")

    event.listen(runtime.engine, "before_cursor_execute", count)
    try:
        with runtime.session_factory() as s:
            listing = queries.list_jobs(s, limit=50)
            n_list = len(statements)
            statements.clear()
            queries.job_detail(s, listing.items[0].id)
            n_detail = len(statements)
    finally:
        event.remove(runtime.engine, "before_cursor_execute", count)
    assert len(listing.items) == 6
    assert n_list <= 4
    assert n_detail <= 6  # the fifth: quality flags, the sixth: webhook deliveries
    with runtime.session_factory() as s:
        assert s.get(Job, listing.items[0].id) is not None


async def test_outputs_page_answers_304_until_the_job_changes(
    client: httpx.AsyncClient,
) -> None:
    ds = await _dataset(client, {"cat": 2})
    job = (await client.post(f"{API}/jobs", json=_auto(ds))).json()
    url = f"{API}/jobs/{job['id']}/outputs?limit=1"
    r = await client.get(url)
    etag = r.headers["etag"]
    assert r.status_code == 200 and r.headers["cache-control"] == "no-cache"
    again = await client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    # another page (another query) has its own tag
    other = await client.get(f"{API}/jobs/{job['id']}/outputs?limit=2")
    assert other.headers["etag"] != etag
    # any change of the job (here an action) moves the revision: the page is sent again
    await client.post(f"{API}/jobs/{job['id']}/pause")
    changed = await client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.json()["items"]
    missing = await client.get(f"{API}/jobs/{'0' * 32}/outputs")
    assert missing.status_code == 404


async def test_the_pollers_fast_path_agrees_with_the_routes_and_keeps_auth(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, secured_runtime: Runtime
) -> None:
    """A repeated poll is answered before routing (PollFastPathMiddleware) with the very
    ETag the route gives; a stale tag, a query on the detail, or an unknown job goes on
    to the route; and without credentials a poll is a 401, never a 304."""
    ds = await _dataset(client, {"cat": 1})
    job = (await client.post(f"{API}/jobs", json=_auto(ds))).json()
    for path in (f"/jobs/{job['id']}", f"/jobs/{job['id']}/outputs?limit=3"):
        first = await client.get(f"{API}{path}")
        tag = first.headers["etag"]
        hit = await client.get(f"{API}{path}", headers={"If-None-Match": tag})
        assert hit.status_code == 304 and hit.headers["etag"] == tag
        stale = await client.get(f"{API}{path}", headers={"If-None-Match": '"stale"'})
        assert stale.status_code == 200 and stale.headers["etag"] == tag
    ghost = await client.get(f"{API}/jobs/{'a' * 32}", headers={"If-None-Match": "*"})
    assert ghost.status_code == 404
    with secured_runtime.session_factory() as s:
        secured_job = s.scalar(select(Job.id))
    for path in (f"/jobs/{secured_job or 'b' * 32}", f"/jobs/{'b' * 32}/outputs"):
        refused = await anon.get(f"{API}{path}", headers={"If-None-Match": "*"})
        assert refused.status_code == 401
