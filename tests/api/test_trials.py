"""Trial runs over HTTP: a trial stores only its sampled slots, the estimate prices the
trial and the rest, and `continue` adds exactly the slots the trial left out (the
trial's outputs are kept as they are: the whole job is never paid for twice)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import update

from bananabatch.api.app import create_app
from bananabatch.config import Settings
from bananabatch.db.models import Job, JobStatus, Output, OutputStatus, Task, TaskStatus
from bananabatch.runtime import Runtime, build_runtime
from tests.api.helpers import API, BASE_URL, create_dataset, error_of, photos, upload
from tests.fakes.gemini_server import FakeGeminiServer


@pytest.fixture(autouse=True)
def no_wake(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime.orchestrator, "wake", lambda: None)  # not running here


async def _dataset(client: httpx.AsyncClient) -> str:
    ds = await create_dataset(client)
    r = await upload(client, ds, photos({"cat": 6, "dog": 5, "fox": 2}))
    assert r.status_code == 200 and not r.json()["errors"]
    return ds


def _auto(ds: str, **extra: Any) -> dict[str, Any]:
    body = {"mode": "automatic", "dataset_id": ds, "prompt": "{class} in {rain|snow|fog}"}
    return {**body, "variations": 2, "seed": 11, **extra}


async def _outputs(client: httpx.AsyncClient, job_id: str) -> list[dict[str, Any]]:
    r = await client.get(f"{API}/jobs/{job_id}/outputs?limit=500")
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def _finish_trial(runtime: Runtime, job_id: str) -> None:
    """What the orchestrator does when the trial's slots are made (not running here)."""
    with runtime.session_factory() as s:
        s.execute(
            update(Output)
            .where(Output.job_id == job_id)
            .values(status=OutputStatus.succeeded, attempt=1)
        )
        s.execute(update(Task).where(Task.job_id == job_id).values(status=TaskStatus.done))
        s.execute(update(Job).where(Job.id == job_id).values(status=JobStatus.completed))
        s.commit()


async def test_a_trial_creates_only_its_sample_across_classes(client: httpx.AsyncClient) -> None:
    ds = await _dataset(client)
    r = await client.post(f"{API}/jobs", json=_auto(ds, trial=4))
    assert r.status_code == 201, r.text
    job = r.json()
    assert job["total_outputs"] == 4 and job["counts"]["pending"] == 4
    assert job["trial"] == {
        "size": 4,
        "planned_outputs": 26,
        "rest_outputs": 22,
        "rest_cost_usd": 0.0,
        "continued": False,
    }
    outs = await _outputs(client, job["id"])
    assert {o["source_path"].split("/")[0] for o in outs} == {"cat", "dog", "fox"}
    assert len({o["source_path"] for o in outs}) == 4  # distinct images first
    assert {o["variation"] for o in outs} == {1}


async def test_continue_adds_exactly_the_rest_and_keeps_the_trial(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    ds = await _dataset(client)
    trial = (await client.post(f"{API}/jobs", json=_auto(ds, trial=5))).json()
    made = {o["id"]: o for o in await _outputs(client, trial["id"])}
    _finish_trial(runtime, trial["id"])

    r = await client.post(f"{API}/jobs/{trial['id']}/continue")
    assert r.status_code == 200, r.text
    job = r.json()
    assert job["status"] == "queued" and job["total_outputs"] == 26
    assert job["counts"] == {
        "pending": 21,
        "succeeded": 5,
        "blocked": 0,
        "failed": 0,
        "cancelled": 0,
        "total": 26,
    }
    assert job["trial"]["continued"] and job["trial"]["rest_outputs"] == 0
    assert sum(b["count"] for b in job["batches"]) == 26
    after = await _outputs(client, trial["id"])
    for out in after:
        if out["id"] in made:  # the trial's outputs, untouched
            assert out["status"] == "succeeded" and out["attempt"] == 1
    # the trial plus the rest are exactly the whole job made without a trial
    whole = (await client.post(f"{API}/jobs", json=_auto(ds))).json()
    expected = {
        (o["archive_path"], o["prompt"], o["seed"]) for o in await _outputs(client, whole["id"])
    }
    assert {(o["archive_path"], o["prompt"], o["seed"]) for o in after} == expected

    again = await client.post(f"{API}/jobs/{trial['id']}/continue")
    assert again.status_code == 409 and "already running" in error_of(again)["message"]
    plain = await client.post(f"{API}/jobs/{whole['id']}/continue")
    assert plain.status_code == 409 and "not a trial" in error_of(plain)["message"]


async def test_a_cancelled_trial_cannot_continue(client: httpx.AsyncClient) -> None:
    ds = await _dataset(client)
    trial = (await client.post(f"{API}/jobs", json=_auto(ds, trial=3))).json()
    assert (await client.post(f"{API}/jobs/{trial['id']}/cancel")).status_code == 200
    r = await client.post(f"{API}/jobs/{trial['id']}/continue")
    assert r.status_code == 409 and "cancelled" in error_of(r)["message"]


async def test_semi_auto_trial_spreads_over_prompts(client: httpx.AsyncClient) -> None:
    body = {
        "mode": "semi_auto",
        "prompts": [{"prompt": "a red kite", "count": 10}, {"prompt": "a blue boat", "count": 7}],
        "seed": 3,
        "trial": 6,
    }
    est = (await client.post(f"{API}/jobs/estimate", json=body)).json()
    assert est["outputs"] == 17
    assert est["trial"]["outputs"] == 6 and est["trial"]["rest_outputs"] == 11
    job = (await client.post(f"{API}/jobs", json=body)).json()
    assert [b["count"] for b in job["batches"]] == [3, 3]
    r = await client.post(f"{API}/jobs/{job['id']}/continue")  # while the trial is queued
    assert r.status_code == 200, r.text
    assert [b["count"] for b in r.json()["batches"]] == [10, 7]
    assert r.json()["counts"]["pending"] == 17


async def test_a_trial_as_big_as_the_job_runs_whole(client: httpx.AsyncClient) -> None:
    body = {"mode": "semi_auto", "prompts": [{"prompt": "a kite", "count": 4}], "trial": 8}
    r = await client.post(f"{API}/jobs", json=body)
    assert r.status_code == 201, r.text
    job = r.json()
    assert job["trial"] is None and job["total_outputs"] == 4
    assert any("runs whole" in w for w in job["warnings"])


@pytest.mark.parametrize("trial", [0, -1, 1001, "8"])
async def test_a_bad_trial_size_is_a_422(client: httpx.AsyncClient, trial: object) -> None:
    body = {"mode": "semi_auto", "prompts": [{"prompt": "a kite", "count": 4}], "trial": trial}
    r = await client.post(f"{API}/jobs", json=body)
    assert r.status_code == 422


# ---- priced with a paid model ------------------------------------------------------------


@pytest.fixture
async def gemini_api(
    settings: Settings, gemini_fake: FakeGeminiServer
) -> AsyncIterator[httpx.AsyncClient]:
    keyed = settings.model_copy(
        update={
            "gemini_api_key": SecretStr("good-gemini-key"),
            "gemini_base_url": gemini_fake.base_url,
        }
    )
    rt = build_runtime(keyed)
    rt.orchestrator.wake = lambda: None  # type: ignore[method-assign]
    transport = httpx.ASGITransport(app=create_app(rt))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as c:
        yield c
    await rt.stop()


async def test_the_estimate_prices_the_trial_and_the_rest(gemini_api: httpx.AsyncClient) -> None:
    body = {
        "mode": "semi_auto",
        "model": "gemini-2.5-flash-image",
        "prompts": [{"prompt": "a red kite", "count": 40}, {"prompt": "a boat", "count": 40}],
        "seed": 5,
        "trial": 8,
    }
    r = await gemini_api.post(f"{API}/jobs/estimate", json=body)
    assert r.status_code == 200, r.text
    est = r.json()
    trial = est["trial"]
    assert trial["outputs"] == 8 and trial["rest_outputs"] == 72
    assert trial["cost_usd"] > 0 and trial["rest_cost_usd"] > 8 * trial["cost_usd"]
    assert trial["cost_usd"] + trial["rest_cost_usd"] == pytest.approx(est["cost_usd"], rel=1e-3)
    job = (await gemini_api.post(f"{API}/jobs", json=body)).json()
    assert job["cost_estimate"] == pytest.approx(trial["cost_usd"])
    assert job["trial"]["rest_cost_usd"] == pytest.approx(trial["rest_cost_usd"], rel=1e-3)


async def test_the_preview_with_the_job_seed_is_what_the_job_renders(
    client: httpx.AsyncClient,
) -> None:
    ds = await _dataset(client)
    body = _auto(ds, prompt="{red|green|blue|gold} {class} at {dawn|dusk|noon}", seed=424242)
    r = await client.post(f"{API}/jobs/preview?limit=8", json=body)
    assert r.status_code == 200, r.text
    previewed = [p["prompt"] for p in r.json()]
    job = (await client.post(f"{API}/jobs", json=body)).json()
    assert job["seed"] == 424242
    ran = [
        o["prompt"] for o in sorted(await _outputs(client, job["id"]), key=lambda o: o["position"])
    ]
    assert previewed == ran[:8]
    other = await client.post(f"{API}/jobs/preview?limit=8", json={**body, "seed": 7})
    assert [p["prompt"] for p in other.json()] != previewed  # the seed picks the wildcards
