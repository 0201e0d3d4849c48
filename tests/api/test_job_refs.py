"""Job ids in API paths: a unique prefix works like the whole id; an ambiguous one is a
409 listing the candidates (never a 500, never a guess); a short or unknown one a 404.
`POST /jobs/validate` checks a job before any upload and creates nothing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from bananabatch.db.models import JobStatus, OutputStatus
from bananabatch.runtime import Runtime
from tests.api import helpers
from tests.api.helpers import API, error_of, insert_job


@pytest.fixture
def next_ids(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Ids handed out first by `insert_job` (its first id is the job's)."""
    queue: list[str] = []
    monkeypatch.setattr(helpers, "new_id", lambda: queue.pop(0) if queue else uuid.uuid4().hex)
    yield queue


def _job(rt: Runtime, ids: list[str], job_id: str, status: JobStatus) -> str:
    ids.append(job_id)
    return insert_job(rt, statuses=[OutputStatus.pending], job_status=status).job_id


async def test_unique_prefix_ambiguous_prefix_and_short_prefix(
    client: httpx.AsyncClient, runtime: Runtime, next_ids: list[str]
) -> None:
    first = _job(runtime, next_ids, "abcd1" + "0" * 27, JobStatus.running)
    second = _job(runtime, next_ids, "abcd2" + "0" * 27, JobStatus.running)

    r = await client.get(f"{API}/jobs/abcd1")
    assert r.status_code == 200 and r.json()["id"] == first
    r = await client.post(f"{API}/jobs/abcd2/pause")
    assert r.status_code == 200 and r.json()["id"] == second and r.json()["status"] == "paused"
    r = await client.get(f"{API}/jobs/{second[:6]}/outputs")
    assert r.status_code == 200 and len(r.json()["items"]) == 1

    r = await client.get(f"{API}/jobs/abcd")
    assert r.status_code == 409
    err = error_of(r)
    assert err["code"] == "ambiguous_id"
    assert err["details"]["candidates"] == [first, second]
    assert first in err["message"] and second in err["message"]
    r = await client.post(f"{API}/jobs/abcd/cancel")
    assert r.status_code == 409  # nothing was cancelled on a guess
    assert (await client.get(f"{API}/jobs/{first}")).json()["status"] == "running"

    r = await client.get(f"{API}/jobs/abc")  # too short to be taken as a prefix
    assert r.status_code == 404 and error_of(r)["code"] == "not_found"
    r = await client.get(f"{API}/jobs/ffff")
    assert r.status_code == 404 and error_of(r)["code"] == "not_found"
    # LIKE wildcards in a prefix are literal characters, not patterns
    r = await client.get(f"{API}/jobs/abc_")
    assert r.status_code == 404


async def test_validate_checks_templates_without_a_dataset(client: httpx.AsyncClient) -> None:
    ok = {"mode": "automatic", "dataset_id": "", "prompt": "{fog|snow} {class}"}
    r = await client.post(f"{API}/jobs/validate", json=ok)
    assert r.status_code == 200, r.text
    assert r.json()["model"] == "classic" and r.json()["warnings"] == []

    bad = {**ok, "prompt": "a {colour} car"}
    r = await client.post(f"{API}/jobs/validate", json=bad)
    assert r.status_code == 422 and error_of(r)["code"] == "bad_template"
    assert "colour" in error_of(r)["message"]

    csv = "path,prompt\ncat/1.jpg,{unclosed\n"
    r = await client.post(f"{API}/jobs/validate", json={**ok, "prompts_csv": csv})
    assert r.status_code == 422 and "cat/1.jpg" in error_of(r)["message"]

    semi = {"mode": "semi_auto", "prompts": [{"prompt": "a {filename}", "count": 4}]}
    r = await client.post(f"{API}/jobs/validate", json=semi)
    assert r.status_code == 422 and "filename" in error_of(r)["message"]

    too_many = {
        "mode": "semi_auto",
        "reference_asset_ids": [f"pending-{i}" for i in range(20)],
        "prompts": [{"prompt": "x", "count": 4}],
    }
    r = await client.post(f"{API}/jobs/validate", json=too_many)
    assert r.status_code == 422 and error_of(r)["code"] == "too_many_references"

    r = await client.post(f"{API}/jobs/validate", json={**ok, "model": "dall-e-3"})
    assert r.status_code == 422 and error_of(r)["code"] == "unknown_model"
    assert (await client.get(f"{API}/datasets")).json()["items"] == []
    assert (await client.get(f"{API}/jobs")).json()["total"] == 0
