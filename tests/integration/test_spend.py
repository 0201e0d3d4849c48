"""The spend ledger and budget caps on whole Gemini jobs against the fake Gemini server:
the ledger equals the fake's own count of billed answers, a fault-free job costs what
it was estimated at (within 1%), and a job with a cap below its estimate is held at
the cap, never above it, with work in flight counted."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from bananabatch.config import Settings
from bananabatch.db.models import Job, JobStatus, OutputStatus, SpendEntry
from bananabatch.runtime import Runtime, build_runtime
from bananabatch.services import job_actions
from bananabatch.services import jobs as job_service
from bananabatch.services.job_requests import AutomaticJobCreate
from bananabatch.services.spend import spend_summary
from tests.fakes.gemini_server import FakeGeminiServer
from tests.imagegen import make_dataset
from tests.integration.job_helpers import outputs_of, upload_folder

pytestmark = pytest.mark.slow
MODEL = "gemini-nano-banana-2.1"
BILLED = {"image", "prompt_blocked", "text_only"}


@pytest.fixture
def gemini() -> Iterator[FakeGeminiServer]:
    with FakeGeminiServer(default_retry_delay="0.1s") as server:
        yield server


@pytest.fixture
async def runtime(settings: Settings, gemini: FakeGeminiServer) -> AsyncIterator[Runtime]:
    rt = build_runtime(
        settings.model_copy(
            update={
                "gemini_api_key": SecretStr("test-key"),
                "gemini_base_url": gemini.base_url,
                "gemini_preflight": False,
                "concurrency": 4,
            }
        )
    )
    yield rt
    await rt.stop()


def _job(rt: Runtime, dataset_id: str, prompt: str, **extra: object) -> Job:
    with rt.session_factory() as s:
        return job_service.create_job(
            s,
            rt.settings,
            rt.catalog,
            AutomaticJobCreate(
                dataset_id=dataset_id, prompt=prompt, variations=2, model=MODEL, **extra
            ),
            preflight=None,
        ).job


def _ledger(rt: Runtime, job_id: str) -> tuple[float, int]:
    with rt.session_factory() as s:
        total, n = s.execute(
            select(func.sum(SpendEntry.cost), func.count()).where(SpendEntry.job_id == job_id)
        ).one()
    return float(total or 0), int(n)


async def test_fault_free_job_costs_its_estimate_and_the_ledger_counts_every_paid_call(
    runtime: Runtime, gemini: FakeGeminiServer, tmp_path: Path
) -> None:
    make_dataset(tmp_path / "ds", {"cat": 12, "dog": 9})
    dataset_id = upload_folder(runtime, tmp_path / "ds")
    job = _job(runtime, dataset_id, "the same {class} at {dawn|dusk}, photographic")
    await runtime.start()
    await asyncio.wait_for(runtime.orchestrator.wait_for_jobs([job.id]), 120)
    await runtime.orchestrator.stop()

    total, entries = _ledger(runtime, job.id)
    billed = [r for r in gemini.requests if r.outcome in BILLED]
    assert entries == len(billed) == 42
    assert abs(total - job.cost_estimate) <= 0.01 * job.cost_estimate, (total, job.cost_estimate)
    with runtime.session_factory() as s:
        stored = s.get_one(Job, job.id)
        assert stored.cost_actual == pytest.approx(total, rel=1e-6)
        by_model = spend_summary(s, "model")
        assert [(r.key, r.images) for r in by_model.rows] == [(MODEL, 42)]
    assert all(o.cost > 0 for o in outputs_of(runtime, job.id))


async def test_blocks_and_text_only_answers_are_in_the_ledger_too(
    runtime: Runtime, gemini: FakeGeminiServer, tmp_path: Path
) -> None:
    make_dataset(tmp_path / "ds", {"a": 3})
    dataset_id = upload_folder(runtime, tmp_path / "ds")
    job = _job(runtime, dataset_id, "{[[block]]|[[text-only]]|fine} picture")
    await runtime.start()
    await asyncio.wait_for(runtime.orchestrator.wait_for_jobs([job.id]), 120)
    await runtime.orchestrator.stop()
    billed = [r for r in gemini.requests if r.outcome in BILLED]
    _, entries = _ledger(runtime, job.id)
    assert entries == len(billed)
    with runtime.session_factory() as s:
        outcomes = set(s.scalars(select(SpendEntry.outcome).where(SpendEntry.job_id == job.id)))
    assert {"blocked", "no_image"} & outcomes, outcomes


async def test_a_cap_below_the_estimate_holds_the_job_at_the_cap(
    runtime: Runtime, gemini: FakeGeminiServer, tmp_path: Path
) -> None:
    make_dataset(tmp_path / "ds", {"cat": 10, "dog": 10})
    dataset_id = upload_folder(runtime, tmp_path / "ds")
    probe = _job(runtime, dataset_id, "[[slow:0.2]] a {class}")
    with runtime.session_factory() as s:
        job_actions.cancel_job(s, probe.id)
    cap = round(probe.cost_estimate * 0.4, 4)
    job = _job(runtime, dataset_id, "[[slow:0.2]] a {class}", max_cost=cap)
    await runtime.start()
    for _ in range(600):
        await asyncio.sleep(0.05)
        with runtime.session_factory() as s:
            if s.get_one(Job, job.id).status == JobStatus.paused:
                break
    await asyncio.sleep(1.0)  # what was in flight at the hold settles
    with runtime.session_factory() as s:
        held = s.get_one(Job, job.id)
        assert held.status == JobStatus.paused
        assert held.hold_reason and "Budget cap reached" in held.hold_reason
        assert held.cost_actual <= cap + 1e-9  # never above the cap
        done = sum(1 for o in outputs_of(runtime, job.id) if o.status == OutputStatus.succeeded)
        assert 0 < done < job.total_outputs
        # raising the cap releases the job, and it completes
        job_actions.set_budget(s, job.id, round(job.cost_estimate * 1.1, 4))
    runtime.orchestrator.wake()
    await asyncio.wait_for(runtime.orchestrator.wait_for_jobs([job.id]), 120)
    await runtime.orchestrator.stop()
    with runtime.session_factory() as s:
        finished = s.get_one(Job, job.id)
        assert finished.status == JobStatus.completed and finished.hold_reason is None
    _, entries = _ledger(runtime, job.id)
    assert entries == job.total_outputs  # nothing paid twice across the hold
