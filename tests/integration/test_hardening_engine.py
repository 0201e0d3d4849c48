"""Defects D2 and D4 of the hardening audit, on the real engine: a cancel keeps what
was already being paid for, and a crash of ours does not use up the user's retries."""

from __future__ import annotations

import asyncio
import contextlib
import io
import time

import pytest
from sqlalchemy import func, select

from bananabatch.config import Settings
from bananabatch.db.models import Job, Output, OutputStatus, Task, TaskStatus
from bananabatch.ingest.service import ingest_files
from bananabatch.providers.base import GeneratedImage, GenerationRequest
from bananabatch.runtime import Runtime, build_runtime
from bananabatch.services import job_actions
from bananabatch.services import jobs as job_service
from bananabatch.services.job_requests import SemiAutoJobCreate, SemiAutoPromptIn
from tests.imagegen import image_bytes

pytestmark = pytest.mark.slow


class SlowPaidProvider:
    """Every call takes `delay` and is counted: a stand-in for a paid Gemini call."""

    name = "classic"

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.calls = 0
        self.finished = 0
        self.slow_seed: int | None = None
        self._png = image_bytes(1, fmt="PNG")

    async def generate(self, request: GenerationRequest) -> GeneratedImage:
        self.calls += 1
        await asyncio.sleep(self.delay)
        self.finished += 1
        return GeneratedImage(data=self._png, mime_type="image/png", width=64, height=48)

    async def aclose(self) -> None:
        return None


def _job(rt: Runtime, count: int) -> Job:
    with rt.session_factory() as s:
        report = ingest_files(
            s, rt.storage, rt.settings, None, [("r.png", io.BytesIO(image_bytes(3, fmt="PNG")))]
        )
        return job_service.create_job(
            s,
            rt.settings,
            rt.catalog,
            SemiAutoJobCreate(
                reference_asset_ids=[report.accepted[0].asset_id],
                prompts=[SemiAutoPromptIn(prompt="p", count=count)],
            ),
            preflight=None,
        ).job


async def _until_dispatched(rt: Runtime, job_id: str) -> None:
    for _ in range(300):
        await asyncio.sleep(0.02)
        with rt.session_factory() as s:
            if s.scalar(
                select(func.count()).where(
                    Task.job_id == job_id, Task.status == TaskStatus.dispatched
                )
            ):
                return
    raise AssertionError("nothing was dispatched")


async def test_cancel_keeps_the_images_already_being_paid_for(settings: Settings) -> None:
    """D2: cancelling used to abort provider calls in flight, throwing paid images away."""
    rt = build_runtime(settings.model_copy(update={"concurrency": 2}))
    provider = SlowPaidProvider(delay=0.5)
    rt.providers.register("classic", provider)
    job = _job(rt, 40)
    await rt.start()
    await _until_dispatched(rt, job.id)
    with rt.session_factory() as s:
        job_actions.cancel_job(s, job.id)
    await asyncio.sleep(1.2)  # the calls in flight finish
    await rt.orchestrator.stop(grace_seconds=5)
    with rt.session_factory() as s:
        succeeded = s.scalar(
            select(func.count()).where(
                Output.job_id == job.id, Output.status == OutputStatus.succeeded
            )
        )
    assert provider.calls > 0
    assert provider.finished == provider.calls  # no call was aborted half-way
    assert succeeded == provider.calls  # every paid image is stored, none thrown away
    await rt.stop()


async def test_a_crash_of_ours_does_not_use_up_the_users_retries(settings: Settings) -> None:
    """D4: with max_attempts=1, a hard stop mid-task used to fail those outputs."""
    conf = settings.model_copy(update={"concurrency": 2, "max_attempts": 1})
    rt = build_runtime(conf)
    rt.providers.register("classic", SlowPaidProvider(delay=5.0))
    job = _job(rt, 8)
    await rt.start()
    await _until_dispatched(rt, job.id)
    # a hard kill: no grace, in-flight work abandoned mid-call
    await rt.orchestrator.stop(grace_seconds=0)
    await rt.stop()

    again = build_runtime(conf)
    again.providers.register("classic", SlowPaidProvider(delay=0.01))
    await again.start()
    await asyncio.wait_for(again.orchestrator.wait_for_jobs([job.id]), 60)
    await again.orchestrator.stop()
    with again.session_factory() as s:
        statuses = list(s.scalars(select(Output.status).where(Output.job_id == job.id)))
        errors = [e for e in s.scalars(select(Output.error).where(Output.job_id == job.id)) if e]
    assert statuses == [OutputStatus.succeeded] * 8, errors
    await again.stop()


class OneSlowSlot(SlowPaidProvider):
    """The prompt's first variation hangs until the test lets it go (or `delay` passes);
    its siblings answer at once."""

    def __init__(self, delay: float) -> None:
        super().__init__(delay)
        self.release = asyncio.Event()

    async def generate(self, request: GenerationRequest) -> GeneratedImage:
        if request.seed == self.slow_seed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.release.wait(), self.delay)
        self.calls += 1
        return GeneratedImage(data=self._png, mime_type="image/png", width=64, height=48)


async def test_finished_outputs_are_stored_while_a_sibling_hangs(settings: Settings) -> None:
    """One output that hangs must not keep its finished siblings out of the database."""
    rt = build_runtime(settings.model_copy(update={"concurrency": 1}))
    job = _job(rt, 4)  # one task of 4
    with rt.session_factory() as s:
        seeds = sorted(s.scalars(select(Output.seed).where(Output.job_id == job.id)))
    provider = OneSlowSlot(delay=60.0)
    provider.slow_seed = seeds[0]
    rt.providers.register("classic", provider)
    await rt.start()
    succeeded = 0
    deadline = time.monotonic() + 30
    while succeeded < 3 and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
        with rt.session_factory() as s:
            succeeded = (
                s.scalar(
                    select(func.count()).where(
                        Output.job_id == job.id, Output.status == OutputStatus.succeeded
                    )
                )
                or 0
            )
    assert succeeded == 3  # stored while the fourth still hangs
    provider.release.set()
    await asyncio.wait_for(rt.orchestrator.wait_for_jobs([job.id]), 30)
    await rt.orchestrator.stop()
    with rt.session_factory() as s:
        from bananabatch.db.models import SpendEntry

        assert s.scalar(select(func.count()).where(SpendEntry.job_id == job.id)) == 4
    await rt.stop()
