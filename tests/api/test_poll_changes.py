"""A running job's pollers: `since` answers exactly the outputs that changed (whatever
code path changed them), and a repeated poll is answered 304 from memory until
anyone, in this process or another, writes to the database."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import event, select, update

from bananabatch.db.models import Output, OutputFlag, OutputStatus
from bananabatch.db.session import make_engine, make_session_factory
from bananabatch.runtime import Runtime
from bananabatch.services.queries.views_outputs import (
    OutputPage,
)
from tests.api.helpers import API, create_dataset, photos, upload


async def _job(client: httpx.AsyncClient, images: int = 6) -> dict[str, Any]:
    ds = await create_dataset(client)
    r = await upload(client, ds, photos({"cat": images}))
    assert r.status_code == 200 and not r.json()["errors"]
    body = {"mode": "automatic", "dataset_id": ds, "prompt": "{rain|snow}", "variations": 2}
    job = await client.post(f"{API}/jobs", json=body)
    assert job.status_code == 201, job.text
    return dict(job.json())


async def _changes(client: httpx.AsyncClient, job_id: str, since: str, limit: int = 500) -> Any:
    r = await client.get(f"{API}/jobs/{job_id}/outputs", params={"since": since, "limit": limit})
    assert r.status_code == 200, r.text
    return r.json()


def _set_status(runtime: Runtime, ids: list[str], status: OutputStatus) -> None:
    """The way the orchestrator settles: ORM objects changed and flushed."""
    with runtime.session_factory() as s:
        for output in s.scalars(select(Output).where(Output.id.in_(ids))):
            output.status = status
        s.commit()


async def test_since_answers_exactly_the_outputs_that_changed(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    job = await _job(client)
    full = (await client.get(f"{API}/jobs/{job['id']}/outputs", params={"limit": 500})).json()
    ids = [o["id"] for o in full["items"]]
    assert len(ids) == 12 and full["changes_cursor"]
    nothing = await _changes(client, job["id"], full["changes_cursor"])
    assert nothing["items"] == [] and not nothing["more_changes"]

    _set_status(runtime, ids[2:4], OutputStatus.blocked)
    first = await _changes(client, job["id"], nothing["changes_cursor"])
    assert sorted((o["id"], o["status"]) for o in first["items"]) == sorted(
        [(ids[2], "blocked"), (ids[3], "blocked")]
    )
    assert (await _changes(client, job["id"], first["changes_cursor"]))["items"] == []

    # the same output changing state again is answered again, with its new state
    _set_status(runtime, [ids[3]], OutputStatus.succeeded)
    second = await _changes(client, job["id"], first["changes_cursor"])
    assert [(o["id"], o["status"]) for o in second["items"]] == [(ids[3], "succeeded")]

    # a bulk UPDATE statement (no ORM objects) numbers its rows too: cancelling the
    # job cancels every output not yet final
    cancel = await client.post(f"{API}/jobs/{job['id']}/cancel")
    assert cancel.status_code == 200, cancel.text
    third = await _changes(client, job["id"], second["changes_cursor"])
    assert {o["id"] for o in third["items"]} == set(ids) - {ids[2], ids[3]}
    assert {o["status"] for o in third["items"]} == {"cancelled"}
    # an older cursor still sees everything after it, each output once, newest state
    again = await _changes(client, job["id"], full["changes_cursor"])
    assert sorted(o["id"] for o in again["items"]) == sorted(ids)
    states = {o["id"]: o["status"] for o in again["items"]}
    assert (states[ids[2]], states[ids[3]], states[ids[0]]) == ("blocked", "succeeded", "cancelled")


async def test_since_answers_cut_at_limit_resume_where_they_stopped(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    job = await _job(client)
    full = (await client.get(f"{API}/jobs/{job['id']}/outputs", params={"limit": 500})).json()
    ids = [o["id"] for o in full["items"]]
    with runtime.session_factory() as s:  # one statement: rows numbered one by one
        s.execute(update(Output).where(Output.id.in_(ids[:7])).values(status="blocked"))
        s.commit()
    seen: list[str] = []
    cursor = full["changes_cursor"]
    for _ in range(10):
        page = await _changes(client, job["id"], cursor, limit=3)
        seen += [o["id"] for o in page["items"]]
        cursor = page["changes_cursor"]
        if not page["more_changes"]:
            break
    assert sorted(seen) == sorted(ids[:7]) and len(seen) == 7


async def test_since_refuses_filters_cursors_and_forged_values(client: httpx.AsyncClient) -> None:
    job = await _job(client, images=1)
    url = f"{API}/jobs/{job['id']}/outputs"
    full = (await client.get(url)).json()
    since = full["changes_cursor"]
    for params in ({"since": since, "status": "failed"}, {"since": since, "cursor": since}):
        r = await client.get(url, params=params)
        assert r.status_code == 422 and "since" in r.json()["error"]["message"]
    for forged in ("garbage", full["next_cursor"] or "MTAwAGFi"):
        r = await client.get(url, params={"since": forged})
        assert r.status_code == 422, r.text
    filtered = (await client.get(url, params={"status": "pending"})).json()
    assert filtered["changes_cursor"] is None


async def test_a_since_poll_is_304_until_an_output_changes(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    job = await _job(client, images=2)
    full = (await client.get(f"{API}/jobs/{job['id']}/outputs")).json()
    url = f"{API}/jobs/{job['id']}/outputs?since={full['changes_cursor']}&limit=500"
    first = await client.get(url)
    tag = first.headers["etag"]
    assert (await client.get(url, headers={"If-None-Match": tag})).status_code == 304
    _set_status(runtime, [full["items"][0]["id"]], OutputStatus.blocked)
    changed = await client.get(url, headers={"If-None-Match": tag})
    assert changed.status_code == 200 and len(changed.json()["items"]) == 1


async def test_repeated_polls_are_answered_from_memory_until_another_process_writes(
    client: httpx.AsyncClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After one poll, the next ones run no SQL at all; a commit from another engine (a
    CLI, the jobs process) is seen once `MAX_STALE` has passed since the cached states
    were read (not re-read at every commit of a running job), then answered in full."""
    from bananabatch.api import poll_cache

    job = await _job(client, images=2)
    paths = [f"{API}/jobs/{job['id']}", f"{API}/jobs/{job['id']}/outputs?limit=5"]
    tags = {p: (await client.get(p)).headers["etag"] for p in paths}
    for p in paths:  # fills the cache
        assert (await client.get(p, headers={"If-None-Match": tags[p]})).status_code == 304
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        statements.append(sql)

    event.listen(runtime.engine, "before_cursor_execute", count)
    try:
        for _ in range(5):
            for p in paths:
                hit = await client.get(p, headers={"If-None-Match": tags[p]})
                assert hit.status_code == 304
    finally:
        event.remove(runtime.engine, "before_cursor_execute", count)
    assert statements == []

    monkeypatch.setattr(poll_cache, "MAX_STALE", 60.0)
    other = make_engine(str(runtime.engine.url))
    try:
        with make_session_factory(other)() as s:
            output = s.scalars(select(Output).where(Output.job_id == job["id"])).first()
            assert output is not None
            output.status = OutputStatus.failed
            s.commit()
    finally:
        other.dispose()
    lagging = await client.get(paths[1], headers={"If-None-Match": tags[paths[1]]})
    assert lagging.status_code == 304  # within MAX_STALE: the cached state still stands
    monkeypatch.setattr(poll_cache, "MAX_STALE", 0.0)  # ... and once it has passed:
    answered = await client.get(paths[1], headers={"If-None-Match": tags[paths[1]]})
    assert answered.status_code == 200
    assert "failed" in {o["status"] for o in answered.json()["items"]}


async def test_pollers_asking_together_share_one_full_answer_until_a_write(
    client: httpx.AsyncClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """50 pollers opening the same page cost one page; a write makes a new one."""
    from bananabatch.services import queries

    job = await _job(client, images=2)
    built: list[str] = []
    real = queries.job_detail

    def counting(session: Any, job_id: str) -> Any:
        built.append(job_id)
        return real(session, job_id)

    monkeypatch.setattr(queries, "job_detail", counting)
    path = f"{API}/jobs/{job['id']}"
    answers = await asyncio.gather(*(client.get(path) for _ in range(8)))
    assert {a.status_code for a in answers} == {200}
    assert len({a.content for a in answers}) == 1 and len({a.headers["etag"] for a in answers}) == 1
    assert len(built) == 1
    assert (await client.get(path)).content == answers[0].content and len(built) == 1

    await client.post(f"{API}/jobs/{job['id']}/pause")
    paused = await client.get(path)
    assert paused.json()["status"] == "paused" and len(built) == 3  # the action's, then ours
    assert paused.headers["etag"] != answers[0].headers["etag"]


async def test_pollers_with_close_cursors_share_one_read_and_get_exact_answers(
    client: httpx.AsyncClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cursors in one bucket are answered from one read of the changed rows, each with
    exactly what changed after it (as the direct read, sharing off, answers)."""
    from bananabatch.services.queries import changes

    job = await _job(client, images=6)
    full = (await client.get(f"{API}/jobs/{job['id']}/outputs", params={"limit": 500})).json()
    ids = [o["id"] for o in full["items"]]
    for i in range(6):  # one commit per change: change numbers one apart
        _set_status(runtime, [ids[i]], OutputStatus.blocked)
    start, _ = changes.decode_since(full["changes_cursor"])
    cursors = [changes.changes_cursor(start + k) for k in range(7)]

    reads: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "FROM outputs" in statement and "change_seq >" in statement:
            reads.append(statement)

    event.listen(runtime.engine, "before_cursor_execute", count)
    try:
        shared = [await _changes(client, job["id"], c) for c in cursors]
    finally:
        event.remove(runtime.engine, "before_cursor_execute", count)
    assert len(reads) == 1
    monkeypatch.setattr(changes, "MAX_SHARED_ROWS", 0)  # every answer read on its own
    direct = [await _changes(client, job["id"], c) for c in cursors]
    assert shared == direct
    assert [len(a["items"]) for a in shared] == [6, 5, 4, 3, 2, 1, 0]
    assert [o["id"] for o in shared[2]["items"]] == ids[2:6]


async def test_since_answers_are_the_same_bytes_on_every_path(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    """The fast path (query as the UI sends it), the route (any other spelling) and the
    page model serialised whole give one and the same JSON, flags and labels included;
    a second poller in the same bucket is answered without any SQL."""
    from bananabatch.services.queries import changes

    job = await _job(client, images=3)
    full = (await client.get(f"{API}/jobs/{job['id']}/outputs", params={"limit": 500})).json()
    ids = [o["id"] for o in full["items"]]
    with runtime.session_factory() as s:
        s.add(OutputFlag(output_id=ids[1], job_id=job["id"], flag="wrong_size", detail="512x512"))
        s.commit()
    for i in range(3):  # one commit each: changed in this order
        _set_status(runtime, [ids[i]], OutputStatus.blocked)
    since = full["changes_cursor"]
    url = f"{API}/jobs/{job['id']}/outputs"
    fast = await client.get(f"{url}?since={since}&limit=2")
    routed = await client.get(f"{url}?limit=2&since={since}")
    assert fast.status_code == routed.status_code == 200
    assert fast.content == routed.content  # (ETags differ: they name the query as sent)
    assert fast.headers["content-type"] == routed.headers["content-type"] == "application/json"
    page = fast.json()
    assert page["more_changes"] and [o["id"] for o in page["items"]] == ids[:2]
    assert page["items"][1]["flags"][0]["flag"] == "wrong_size"
    # the kept JSON is the page model's own serialisation
    assert fast.content == OutputPage.model_validate_json(fast.content).model_dump_json().encode()

    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        statements.append(sql)

    start, _ = changes.decode_since(since)
    event.listen(runtime.engine, "before_cursor_execute", count)
    try:
        other = await client.get(f"{url}?since={changes.changes_cursor(start + 1)}&limit=500")
    finally:
        event.remove(runtime.engine, "before_cursor_execute", count)
    assert other.status_code == 200 and statements == []
    assert [o["id"] for o in other.json()["items"]] == ids[1:3]


async def test_this_processs_own_commits_are_seen_at_once(
    client: httpx.AsyncClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """However long foreign commits may lag, a change made through this server (a
    pause, a review) shows on the very next poll."""
    from bananabatch.api import poll_cache

    monkeypatch.setattr(poll_cache, "MAX_STALE", 60.0)
    job = await _job(client, images=2)
    path = f"{API}/jobs/{job['id']}"
    tag = (await client.get(path)).headers["etag"]
    assert (await client.get(path, headers={"If-None-Match": tag})).status_code == 304
    await client.post(f"{API}/jobs/{job['id']}/pause")
    paused = await client.get(path, headers={"If-None-Match": tag})
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    full = (await client.get(f"{API}/jobs/{job['id']}/outputs")).json()
    _set_status(runtime, [full["items"][0]["id"]], OutputStatus.blocked)
    changed = await _changes(client, job["id"], full["changes_cursor"])
    assert [o["status"] for o in changed["items"]] == ["blocked"]
