"""Whole jobs through ingest -> job service -> orchestrator -> local executor -> worker
-> provider -> storage, with the classic provider and with the real google-genai
client against the fake Gemini server."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import BinaryIO

import pytest
from PIL import Image
from pydantic import SecretStr
from sqlalchemy import func, select

from bananabatch.config import Settings
from bananabatch.db.models import Job, JobStatus, Output, OutputStatus, Task, TaskStatus
from bananabatch.errors import Conflict, TooManyReferences
from bananabatch.ingest.service import ingest_files
from bananabatch.runtime import Runtime, build_runtime
from bananabatch.services import job_actions
from bananabatch.services import jobs as job_service
from bananabatch.services.job_requests import (
    AutomaticJobCreate,
    SemiAutoJobCreate,
    SemiAutoPromptIn,
)
from tests.fakes.gemini_server import FakeGeminiServer
from tests.imagegen import image_bytes, make_dataset
from tests.integration.job_helpers import upload_folder

pytestmark = pytest.mark.slow


@pytest.fixture
def fake_gemini() -> Iterator[FakeGeminiServer]:
    with FakeGeminiServer(default_retry_delay="0.2s") as server:
        yield server


def _settings(base: Settings, **overrides: object) -> Settings:
    return base.model_copy(update=overrides)


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    rt = build_runtime(_settings(settings, concurrency=4))
    yield rt
    await rt.stop()


def _upload_refs(rt: Runtime, n: int) -> list[str]:
    handles: list[tuple[str, BinaryIO]] = [
        (f"ref{i}.png", io.BytesIO(image_bytes(900 + i, fmt="PNG"))) for i in range(n)
    ]
    with rt.session_factory() as s:
        report = ingest_files(s, rt.storage, rt.settings, None, handles)
    assert report.errors == []
    return [f.asset_id for f in report.accepted]


async def _run(rt: Runtime, *job_ids: str, limit: float = 240) -> None:
    await rt.start()
    await asyncio.wait_for(rt.orchestrator.wait_for_jobs(job_ids), limit)
    await rt.orchestrator.stop()


def _outputs(rt: Runtime, job_id: str) -> list[Output]:
    with rt.session_factory() as s:
        return list(
            s.scalars(select(Output).where(Output.job_id == job_id).order_by(Output.position))
        )


def _assert_storage_matches_db(rt: Runtime, job_id: str) -> None:
    outputs = _outputs(rt, job_id)
    stored = {k for k in rt.storage.iter_keys(f"outputs/{job_id}") if "/thumbs/" not in k}
    expected = {o.storage_key for o in outputs if o.status == OutputStatus.succeeded}
    assert stored == expected  # every succeeded output exactly once, nothing else
    assert all(o.storage_key is None for o in outputs if o.status != OutputStatus.succeeded)


async def test_automatic_classic_220_images_two_classes(runtime: Runtime, tmp_path: Path) -> None:
    make_dataset(tmp_path / "ds", {"cat": 120, "dog": 100})
    dataset_id = upload_folder(runtime, tmp_path / "ds")
    with runtime.session_factory() as s:
        job = job_service.create_job(
            s,
            runtime.settings,
            runtime.catalog,
            AutomaticJobCreate(
                dataset_id=dataset_id,
                prompt="{night|rain} photo of a {class}",
                variations=2,
                seed=7,
            ),
            preflight=runtime.preflight,
        ).job
    assert job.total_outputs == 440
    assert job.total_tasks == 220  # one source per task, 2 variations each
    await _run(runtime, job.id)

    outputs = _outputs(runtime, job.id)
    assert {o.status for o in outputs} == {OutputStatus.succeeded}
    paths = {o.archive_path for o in outputs}
    assert "cat/000__v1.png" in paths and "dog/099__v2.png" in paths
    with runtime.session_factory() as s:
        done = s.get_one(Job, job.id)
        assert done.status == JobStatus.completed
        batches = [b.name for b in done.batches]
    assert batches == ["cat", "dog"]
    sample = runtime.storage.get_bytes(outputs[0].storage_key or "")
    with Image.open(io.BytesIO(sample)) as img:
        assert img.format == "PNG"
        assert img.size == (outputs[0].width, outputs[0].height)
        assert img.text.get("prompt") == outputs[0].prompt  # metadata embedded
    _assert_storage_matches_db(runtime, job.id)


async def test_automatic_gemini_against_fake(
    settings: Settings, fake_gemini: FakeGeminiServer, tmp_path: Path
) -> None:
    rt = build_runtime(
        _settings(
            settings, gemini_api_key=SecretStr("test-key"), gemini_base_url=fake_gemini.base_url
        )
    )
    try:
        # 200+ images in two class folders, as for the classic provider
        make_dataset(tmp_path / "ds", {"cat": 110, "dog": 100})
        dataset_id = upload_folder(rt, tmp_path / "ds")
        with rt.session_factory() as s:
            job = job_service.create_job(
                s,
                rt.settings,
                rt.catalog,
                AutomaticJobCreate(
                    dataset_id=dataset_id,
                    prompt="make it {snowy|sunny}",
                    variations=2,
                    model="gemini-2.5-flash-image",
                ),
                preflight=rt.preflight,
            ).job
        await _run(rt, job.id)
        outputs = _outputs(rt, job.id)
        assert len(outputs) == 420
        assert all(o.status == OutputStatus.succeeded for o in outputs)
        # priced from the tokens the answer reported: 1,290 image tokens at $30/1M plus
        # the prompt and the reference at the input rate (about $0.039 an image)
        assert all(o.cost == pytest.approx(0.039, rel=0.01) for o in outputs)
        paths = {o.archive_path for o in outputs}
        assert "cat/109__v2.png" in paths and "dog/000__v1.png" in paths
        with rt.session_factory() as s:
            assert s.get_one(Job, job.id).cost_actual == pytest.approx(420 * 0.039, rel=0.01)
            assert [b.name for b in s.get_one(Job, job.id).batches] == ["cat", "dog"]
        # every call carried the source image with its real mime type (JPEG stays JPEG)
        assert len(fake_gemini.requests) == 420
        assert all(r.reference_mime_types == ["image/jpeg"] for r in fake_gemini.requests)
        _assert_storage_matches_db(rt, job.id)
    finally:
        await rt.stop()


async def test_semi_auto_40_is_10_runs_of_4_with_3_references(runtime: Runtime) -> None:
    refs = _upload_refs(runtime, 3)
    with runtime.session_factory() as s:
        job = job_service.create_job(
            s,
            runtime.settings,
            runtime.catalog,
            SemiAutoJobCreate(
                reference_asset_ids=refs,
                prompts=[SemiAutoPromptIn(prompt="a red car at night", count=40)],
            ),
            preflight=runtime.preflight,
        ).job
    assert (job.total_outputs, job.total_tasks) == (40, 10)
    await _run(runtime, job.id)
    with runtime.session_factory() as s:
        runs = s.execute(
            select(Task.position, func.count(Output.id))
            .join(Output, Output.task_id == Task.id)
            .where(Task.job_id == job.id)
            .group_by(Task.position)
            .order_by(Task.position)
        ).all()
        assert [(r, n) for r, n in runs] == [(i, 4) for i in range(10)]
        assert all(
            t.status == TaskStatus.done
            for t in s.scalars(select(Task).where(Task.job_id == job.id))
        )
    outputs = _outputs(runtime, job.id)
    assert all(o.status == OutputStatus.succeeded for o in outputs)
    assert outputs[0].archive_path.endswith("run-001/image-1.png")
    _assert_storage_matches_db(runtime, job.id)


async def test_semi_auto_rejects_too_many_references_for_model(
    runtime: Runtime, settings: Settings
) -> None:
    rt = build_runtime(_settings(settings, gemini_api_key=SecretStr("k")))
    refs = _upload_refs(rt, 5)
    with rt.session_factory() as s, pytest.raises(TooManyReferences, match="at most 3"):
        job_service.create_job(
            s,
            rt.settings,
            rt.catalog,
            SemiAutoJobCreate(
                reference_asset_ids=refs,
                prompts=[SemiAutoPromptIn(prompt="x", count=4)],
                model="gemini-2.5-flash-image",
            ),
            preflight=rt.preflight,
        )
    rt.engine.dispose()


async def test_fault_mix_ends_with_exactly_the_blocked_outputs_failed(
    settings: Settings, fake_gemini: FakeGeminiServer
) -> None:
    rt = build_runtime(
        _settings(
            settings,
            gemini_api_key=SecretStr("test-key"),
            gemini_base_url=fake_gemini.base_url,
            max_attempts=5,
        )
    )
    try:
        refs = _upload_refs(rt, 2)
        prompts = [
            SemiAutoPromptIn(prompt="[[429x3]] a cat in the rain", count=8),
            SemiAutoPromptIn(prompt="[[500x2]] a dog on a beach", count=8),
            SemiAutoPromptIn(prompt="[[503x1]] a bird", count=4),
            SemiAutoPromptIn(prompt="[[block]] something unsafe", count=4),
            SemiAutoPromptIn(prompt="a plain teapot", count=4),
        ]
        with rt.session_factory() as s:
            job = job_service.create_job(
                s,
                rt.settings,
                rt.catalog,
                SemiAutoJobCreate(
                    reference_asset_ids=refs, prompts=prompts, model="gemini-2.5-flash-image"
                ),
                preflight=rt.preflight,
            ).job
        await _run(rt, job.id, limit=300)
        outputs = _outputs(rt, job.id)
        blocked = [o for o in outputs if o.status == OutputStatus.blocked]
        assert len(blocked) == 4
        assert all("unsafe" in o.prompt and o.error for o in blocked)
        assert all(o.status == OutputStatus.succeeded for o in outputs if o not in blocked)
        with rt.session_factory() as s:
            assert s.get_one(Job, job.id).status == JobStatus.completed_with_errors
        _assert_storage_matches_db(rt, job.id)
        # blocked prompts were asked exactly once each: never retried, never paid twice
        block_calls = [r for r in fake_gemini.requests if "[[block]]" in r.prompt]
        assert len(block_calls) == 4
    finally:
        await rt.stop()


async def test_small_job_is_not_starved_by_a_big_one(runtime: Runtime, tmp_path: Path) -> None:
    refs = _upload_refs(runtime, 1)
    with runtime.session_factory() as s:
        big = job_service.create_job(
            s,
            runtime.settings,
            runtime.catalog,
            SemiAutoJobCreate(
                reference_asset_ids=refs, prompts=[SemiAutoPromptIn(prompt="big", count=400)]
            ),
            preflight=runtime.preflight,
        ).job
        small = job_service.create_job(
            s,
            runtime.settings,
            runtime.catalog,
            SemiAutoJobCreate(
                reference_asset_ids=refs, prompts=[SemiAutoPromptIn(prompt="small", count=8)]
            ),
            preflight=runtime.preflight,
        ).job
    await runtime.start()
    await asyncio.wait_for(runtime.orchestrator.wait_for_jobs([small.id]), 120)
    with runtime.session_factory() as s:
        big_done = s.scalar(
            select(func.count()).where(
                Output.job_id == big.id, Output.status == OutputStatus.succeeded
            )
        )
    await runtime.orchestrator.stop()
    assert big_done is not None and big_done < 200  # the small job finished long before the big one


async def test_cancel_pause_resume_retry(runtime: Runtime) -> None:
    refs = _upload_refs(runtime, 1)
    req = SemiAutoJobCreate(
        reference_asset_ids=refs, prompts=[SemiAutoPromptIn(prompt="p", count=12)]
    )
    with runtime.session_factory() as s:
        job = job_service.create_job(
            s, runtime.settings, runtime.catalog, req, preflight=runtime.preflight
        ).job
        paused = job_actions.pause_job(s, job.id)
        assert paused.status == JobStatus.paused
        with pytest.raises(Conflict):
            job_actions.pause_job(s, job.id)
        other = job_service.create_job(
            s, runtime.settings, runtime.catalog, req, preflight=runtime.preflight
        ).job
        job_actions.cancel_job(s, other.id)
        with pytest.raises(Conflict):
            job_actions.cancel_job(s, other.id)
    await runtime.start()
    await asyncio.sleep(0.5)
    assert all(
        o.status == OutputStatus.pending for o in _outputs(runtime, job.id)
    )  # paused: nothing ran
    assert all(o.status == OutputStatus.cancelled for o in _outputs(runtime, other.id))
    with runtime.session_factory() as s:
        job_actions.resume_job(s, job.id)
    runtime.orchestrator.wake()
    await asyncio.wait_for(runtime.orchestrator.wait_for_jobs([job.id]), 60)
    # make one output fail, then retry it
    with runtime.session_factory() as s:
        o = s.scalars(select(Output).where(Output.job_id == job.id)).first()
        assert o is not None
        o.status, o.error = OutputStatus.failed, "simulated"
        s.get_one(Job, job.id).status = JobStatus.completed_with_errors
        s.commit()
        assert job_actions.retry_failed(s, job.id) == 1
    runtime.orchestrator.wake()
    await asyncio.wait_for(runtime.orchestrator.wait_for_jobs([job.id]), 60)
    await runtime.orchestrator.stop()
    outputs = _outputs(runtime, job.id)
    assert all(o.status == OutputStatus.succeeded for o in outputs)
    with runtime.session_factory() as s:
        assert s.get_one(Job, job.id).status == JobStatus.completed
    _assert_storage_matches_db(runtime, job.id)


async def test_second_orchestrator_on_same_data_dir_is_refused(
    runtime: Runtime, settings: Settings
) -> None:
    await runtime.start()
    other = build_runtime(settings)
    with pytest.raises(Conflict, match="already running"):
        await other.start()
    other.engine.dispose()


async def test_stop_lets_in_flight_work_finish_and_be_stored(runtime: Runtime) -> None:
    refs = _upload_refs(runtime, 1)
    with runtime.session_factory() as s:
        job = job_service.create_job(
            s,
            runtime.settings,
            runtime.catalog,
            SemiAutoJobCreate(
                reference_asset_ids=refs, prompts=[SemiAutoPromptIn(prompt="p", count=200)]
            ),
            preflight=runtime.preflight,
        ).job
    await runtime.start()
    for _ in range(200):
        await asyncio.sleep(0.02)
        with runtime.session_factory() as s:
            if s.scalar(
                select(func.count()).where(
                    Task.job_id == job.id, Task.status == TaskStatus.dispatched
                )
            ):
                break
    await runtime.orchestrator.stop(grace_seconds=60)
    with runtime.session_factory() as s:
        dispatched = s.scalar(
            select(func.count()).where(Task.job_id == job.id, Task.status == TaskStatus.dispatched)
        )
        done = s.scalar(
            select(func.count()).where(
                Output.job_id == job.id, Output.status == OutputStatus.succeeded
            )
        )
    assert dispatched == 0  # everything in flight finished and was stored: nothing to pay for again
    assert done is not None and 0 < done < 200
    _assert_storage_matches_db(runtime, job.id)


def test_nul_characters_are_refused_in_prompts_and_names() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="NUL"):
        SemiAutoJobCreate(prompts=[SemiAutoPromptIn(prompt="a\x00b", count=4)])
    with pytest.raises(ValidationError, match="NUL"):
        AutomaticJobCreate(dataset_id="d", prompt="x", name="bad\x00name")
