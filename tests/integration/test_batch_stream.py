"""The Batch API executor reads result files in its own loop: images are stored one by
one while a (slow) result file is still being read, a job on the standard route is
not held up by that download, and a task whose slots are spread over several batches
keeps every blocked line (billed once, never sent again)."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy import func, select

from bananabatch.config import Settings
from bananabatch.db.models import GeminiBatch, Job, JobStatus, Output, OutputStatus
from bananabatch.runtime import Runtime, build_runtime
from bananabatch.services import jobs as job_service
from bananabatch.services.job_requests import SemiAutoJobCreate, SemiAutoPromptIn
from tests.fakes.gemini_server import FakeGeminiServer
from tests.imagegen import image_bytes
from tests.integration.job_helpers import assert_stored_exactly_once, outputs_of, upload_images
from tests.integration.test_batch_jobs import batch_settings

pytestmark = pytest.mark.slow
MODEL = "gemini-3-pro-image"


@pytest.fixture
def gemini() -> Iterator[FakeGeminiServer]:
    with FakeGeminiServer(default_retry_delay="0.05s") as server:
        yield server


@pytest.fixture
async def runtime(settings: Settings, gemini: FakeGeminiServer) -> AsyncIterator[Runtime]:
    rt = build_runtime(batch_settings(settings, gemini, batch_max_lines=50))
    yield rt
    await rt.stop()


def _semi(rt: Runtime, prompts: list[tuple[str, int]], *, batch: bool = True) -> Job:
    refs = upload_images(rt, [("ref.jpg", image_bytes(3, (96, 64)))])
    with rt.session_factory() as s:
        return job_service.create_job(
            s,
            rt.settings,
            rt.catalog,
            SemiAutoJobCreate(
                reference_asset_ids=refs,
                prompts=[SemiAutoPromptIn(prompt=p, count=n) for p, n in prompts],
                model=MODEL,
                use_batch_api=batch,
            ),
            preflight=None,
        ).job


def _stored(rt: Runtime, job_id: str) -> int:
    with rt.session_factory() as s:
        return int(
            s.scalar(
                select(func.count())
                .select_from(Output)
                .where(Output.job_id == job_id, Output.status == OutputStatus.succeeded)
            )
            or 0
        )


def _status(rt: Runtime, job_id: str) -> str:
    with rt.session_factory() as s:
        return s.get_one(Job, job_id).status


async def test_images_are_stored_while_the_result_file_is_read(
    runtime: Runtime, gemini: FakeGeminiServer
) -> None:
    job = _semi(runtime, [("a poster of the mug", 5), ("the mug on a shelf", 5)])
    gemini.batch_controls.download_pace = 0.3  # 10 lines: about 3 s of download
    await runtime.start()
    seen: set[int] = set()
    for _ in range(400):
        seen.add(_stored(runtime, job.id))
        if _status(runtime, job.id) == JobStatus.completed:
            break
        await asyncio.sleep(0.05)
    await runtime.orchestrator.stop()

    # one batch, one file: the images arrived one by one while it was being read
    with runtime.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(GeminiBatch)) == 1
    assert len(seen & set(range(1, 10))) >= 3, sorted(seen)
    outputs = assert_stored_exactly_once(runtime, job.id)
    assert len(outputs) == 10 and all(o.status == OutputStatus.succeeded for o in outputs)
    assert sum(gemini.batches.paid_keys.values()) == 10
    assert set(gemini.batches.paid_keys.values()) == {1}


async def test_a_standard_job_is_not_held_up_by_a_batch_download(
    runtime: Runtime, gemini: FakeGeminiServer
) -> None:
    slow = _semi(runtime, [("a slow poster of the mug", 12)])
    gemini.batch_controls.download_pace = 0.5  # 12 lines: about 6 s of download
    await runtime.start()
    try:
        for _ in range(400):
            if _stored(runtime, slow.id) >= 1:
                break
            await asyncio.sleep(0.05)
        assert _stored(runtime, slow.id) >= 1
        now = _semi(runtime, [("a quick mug", 4)], batch=False)
        await asyncio.wait_for(runtime.orchestrator.wait_for_jobs([now.id]), 60)
        # the standard job finished while the batch's file was still being read
        assert _status(runtime, slow.id) != JobStatus.completed
        assert _stored(runtime, slow.id) < 12
        assert gemini.calls(prompt_contains="a quick mug") == 4
        await asyncio.wait_for(runtime.orchestrator.wait_for_jobs([slow.id]), 60)
    finally:
        await runtime.orchestrator.stop()
    assert len(assert_stored_exactly_once(runtime, slow.id)) == 12
    assert sum(gemini.batches.paid_keys.values()) == 12


async def test_a_task_spread_over_batches_keeps_its_blocked_lines(
    settings: Settings, gemini: FakeGeminiServer
) -> None:
    rt = build_runtime(batch_settings(settings, gemini, batch_max_lines=2))
    try:
        job = _semi(rt, [("[[block]] a forbidden mug", 5), ("a fine mug", 3)])
        gemini.batch_controls.download_pace = 0.1
        await rt.start()
        await asyncio.wait_for(rt.orchestrator.wait_for_jobs([job.id]), 120)
        outputs = outputs_of(rt, job.id)
        blocked = [o for o in outputs if "forbidden" in o.prompt]
        assert [o.status for o in blocked] == [OutputStatus.blocked] * 5
        assert all(o.status == OutputStatus.succeeded for o in outputs if o not in blocked)
        # every line billed once and never sent again, though the task's slots were
        # read from different files at different times
        assert sorted(gemini.batches.paid_keys) == sorted(f"{o.id}.1" for o in outputs)
        assert set(gemini.batches.paid_keys.values()) == {1}
        with rt.session_factory() as s:
            assert (s.scalar(select(func.count()).select_from(GeminiBatch)) or 0) >= 4
    finally:
        await rt.stop()


async def test_regenerating_an_output_asks_a_new_batch_line(
    settings: Settings, gemini: FakeGeminiServer
) -> None:
    """A regenerated output has a new seed: its old line must never be read again for
    it, even when a crash came before the line was marked done."""
    from sqlalchemy import update

    from bananabatch.db.models import GeminiBatchLine, ReviewState
    from bananabatch.services.review import ReviewIn, regenerate_rejected, review_outputs

    rt = build_runtime(batch_settings(settings, gemini))
    try:
        job = _semi(rt, [("a poster of the mug", 3)])
        await rt.start()
        await asyncio.wait_for(rt.orchestrator.wait_for_jobs([job.id]), 120)
        first = outputs_of(rt, job.id)
        target = first[0]
        with rt.session_factory() as s:
            # as if the process had died before marking the lines done
            s.execute(update(GeminiBatchLine).values(done=False))
            review_outputs(
                s, job.id, ReviewIn(decision=ReviewState.rejected, output_ids=[target.id])
            )
            regenerate_rejected(s, rt.storage, rt.catalog, job.id)
            s.commit()
        rt.orchestrator.wake()
        for _ in range(600):
            if _status(rt, job.id) == JobStatus.completed:
                break
            await asyncio.sleep(0.05)
        again = {o.id: o for o in outputs_of(rt, job.id)}[target.id]
        assert again.status == OutputStatus.succeeded and again.seed != target.seed
        assert gemini.batches.paid_keys[f"{target.id}.2"] == 1  # a new line, bought once
        assert sum(gemini.batches.paid_keys.values()) == 4
    finally:
        await rt.stop()


async def test_a_batch_waiting_past_a_day_is_shown_overdue(
    runtime: Runtime, gemini: FakeGeminiServer
) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from bananabatch.db.models import utcnow
    from bananabatch.services.queries import job_detail

    job = _semi(runtime, [("a patient mug", 3)])
    gemini.batch_controls.hold.add("bananabatch-")
    await runtime.start()
    try:
        for _ in range(400):
            with runtime.session_factory() as s:
                waiting = job_detail(s, job.id).gemini_batches
            if waiting and waiting[0].state == "pending":
                break
            await asyncio.sleep(0.05)
        assert [b.state for b in waiting] == ["pending"] and not waiting[0].overdue
        with runtime.session_factory() as s:
            s.execute(update(GeminiBatch).values(submitted_at=utcnow() - timedelta(hours=30)))
            s.commit()
            shown = job_detail(s, job.id).gemini_batches[0]
        assert shown.overdue and shown.lines == 3 and shown.lines_read == 0
        gemini.batch_controls.hold.clear()
        await asyncio.wait_for(runtime.orchestrator.wait_for_jobs([job.id]), 60)
        with runtime.session_factory() as s:  # while the server still runs
            done = job_detail(s, job.id).gemini_batches[0]
        assert done.state == "succeeded" and not done.overdue and done.lines_read == 3
    finally:
        await runtime.stop()


async def test_large_references_make_smaller_batches(
    settings: Settings, gemini: FakeGeminiServer
) -> None:
    """References travel inside every line: a batch is cut by bytes as well as lines,
    so its JSONL stays under the limit (the Files API takes 2 GB)."""
    import os

    from PIL import Image

    noise = Image.frombytes("RGB", (300, 300), os.urandom(300 * 300 * 3))
    ref = io.BytesIO()
    noise.save(ref, "PNG")  # about 270 KB that cannot be compressed
    limit = 1 << 20
    rt = build_runtime(batch_settings(settings, gemini, batch_max_bytes=limit))
    try:
        refs = upload_images(rt, [("noise.png", ref.getvalue())])
        with rt.session_factory() as s:
            job = job_service.create_job(
                s,
                rt.settings,
                rt.catalog,
                SemiAutoJobCreate(
                    reference_asset_ids=refs,
                    prompts=[SemiAutoPromptIn(prompt="[[echo]] the same noise", count=8)],
                    model=MODEL,
                    use_batch_api=True,
                ),
                preflight=None,
            ).job
        await rt.start()
        await asyncio.wait_for(rt.orchestrator.wait_for_jobs([job.id]), 120)
        outputs = assert_stored_exactly_once(rt, job.id)
        assert all(o.status == OutputStatus.succeeded for o in outputs)
        files = gemini.files.uploaded()
        # 8 lines of about 360 KB each do not fit one 1 MiB file
        assert len(files) >= 3 and all(len(f.data) <= limit for f in files)
        assert sum(len(f.data.splitlines()) for f in files) == 8
        assert sum(gemini.batches.paid_keys.values()) == 8
    finally:
        await rt.stop()


@pytest.mark.parametrize(("stall", "status"), [(30.0, 503), (0.0, 404)])
async def test_stalled_and_missing_result_downloads_are_retried_then_read_once(
    settings: Settings, gemini: FakeGeminiServer, stall: float, status: int
) -> None:
    """Downloads that stall past the timeout, or are answered 404, count as failed
    downloads: retried with backoff, then read, nothing bought again or paid twice."""
    from bananabatch.db.models import SpendEntry

    rt = build_runtime(batch_settings(settings, gemini, batch_download_timeout_seconds=0.5))
    try:
        job = _semi(rt, [("a mug behind a slow link", 4)])
        gemini.batch_controls.lose_results["bananabatch-"] = 2
        gemini.batch_controls.lost_status = status
        gemini.batch_controls.lost_stall = stall  # 30 s: far longer than our timeout
        started = asyncio.get_running_loop().time()
        await rt.start()
        await asyncio.wait_for(rt.orchestrator.wait_for_jobs([job.id]), 120)
        assert asyncio.get_running_loop().time() - started < 20  # never waited out a stall
        outputs = assert_stored_exactly_once(rt, job.id)
        assert all(o.status == OutputStatus.succeeded for o in outputs)
        with rt.session_factory() as s:
            (batch,) = s.scalars(select(GeminiBatch)).all()
            ledger = list(s.scalars(select(SpendEntry).where(SpendEntry.job_id == job.id)))
        assert batch.state == "succeeded" and batch.download_attempts == 0
        assert sum(gemini.batches.paid_keys.values()) == 4 == len(ledger)
        assert not any(e.paid_twice for e in ledger)
        assert gemini.hits(":download") == 3  # two failed, one read
    finally:
        await rt.stop()


async def test_per_line_faults_are_classified_like_standard_calls(
    runtime: Runtime, gemini: FakeGeminiServer
) -> None:
    """An IMAGE_SAFETY line is a block (billed, never sent again), a 429 line is not
    billed and its output runs again in a new line, a text-only line is billed and
    retried like a standard text-only answer."""
    from bananabatch.db.models import SpendEntry
    from tests.fakes.gemini_server import Fault

    job = _semi(runtime, [("a mug, line by line", 4)])
    first = outputs_of(runtime, job.id)
    safety, limited, text, fine = (o.id for o in first)
    gemini.batch_controls.line_faults[f"{safety}.1"] = Fault.finish("IMAGE_SAFETY")
    gemini.batch_controls.line_faults[f"{limited}.1"] = Fault.rate_limit()
    gemini.batch_controls.line_faults[f"{text}.1"] = Fault.text_only("no picture today")
    await runtime.start()
    await asyncio.wait_for(runtime.orchestrator.wait_for_jobs([job.id]), 120)
    await runtime.orchestrator.stop()

    status = {o.id: o.status for o in outputs_of(runtime, job.id)}
    assert status == {
        safety: OutputStatus.blocked,
        limited: OutputStatus.succeeded,
        text: OutputStatus.succeeded,
        fine: OutputStatus.succeeded,
    }
    paid = gemini.batches.paid_keys
    assert f"{safety}.2" not in paid  # a block is never sent again
    assert paid.get(f"{limited}.1", 0) == 0 and paid[f"{limited}.2"] == 1
    assert paid[f"{text}.1"] == 1 and paid[f"{text}.2"] == 1
    with runtime.session_factory() as s:
        ledger = list(s.scalars(select(SpendEntry).where(SpendEntry.job_id == job.id)))
    assert len(ledger) == sum(paid.values()) == 5
    outcomes = sorted(e.outcome for e in ledger)
    assert outcomes.count("blocked") == 1 and outcomes.count("image") == 3
    assert {e.route for e in ledger} == {"batch"}
