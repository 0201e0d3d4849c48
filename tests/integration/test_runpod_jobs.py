"""Whole jobs through the RunPod executor against the fake RunPod cloud, which runs the
real worker handler: both modes, faults injected, the URL transport for large
references, cancel, and the official SDK's view of the same endpoint."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import select

from bananabatch.config import Settings
from bananabatch.db.models import Job, JobStatus, OutputStatus, Task
from bananabatch.errors import TransportUnavailable
from bananabatch.export.archive import ExportSelection, stream_job_zip
from bananabatch.runtime import Runtime, build_runtime
from bananabatch.services import job_actions
from bananabatch.services import jobs as job_service
from bananabatch.services.job_requests import (
    AutomaticJobCreate,
    SemiAutoJobCreate,
    SemiAutoPromptIn,
)
from tests.fakes.runpod_server import FakeRunPodServer, HttpFault, JobFault
from tests.imagegen import image_bytes, make_dataset
from tests.integration.job_helpers import (
    assert_stored_exactly_once,
    free_port,
    run_jobs,
    runpod_settings,
    serving,
    upload_folder,
    upload_images,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def fake() -> Iterator[FakeRunPodServer]:
    with FakeRunPodServer(workers=4, jobs_per_worker=4, webhook_retry_delay=0.05) as server:
        yield server


@pytest.fixture
async def runtime(settings: Settings, fake: FakeRunPodServer) -> AsyncIterator[Runtime]:
    rt = build_runtime(runpod_settings(settings, fake))
    yield rt
    await rt.stop()


async def test_automatic_210_images_in_classes_with_faults(
    runtime: Runtime, fake: FakeRunPodServer, tmp_path: Path
) -> None:
    make_dataset(tmp_path / "ds", {"cat": 110, "dog": 100})
    dataset_id = upload_folder(runtime, tmp_path / "ds")
    fake.script.push_job(JobFault.failed("worker OOM"), times=3)
    fake.script.push_job(JobFault.timed_out(), times=2)
    fake.script.push_job(JobFault.no_output(), times=1)
    fake.script.push_job(JobFault.lost(), times=1)
    fake.script.push_http(HttpFault.rate_limited(0.05), route="run", times=3)
    fake.script.push_http(HttpFault.server_error(503), route="run", times=2)
    fake.script.push_http(HttpFault.drop(), route="status", times=5)
    fake.script.push_http(HttpFault.rate_limited(0.05), route="status", times=3)
    with runtime.session_factory() as s:
        job = job_service.create_job(
            s,
            runtime.settings,
            runtime.catalog,
            AutomaticJobCreate(
                dataset_id=dataset_id, prompt="{rain|fog} photo of a {class}", variations=2
            ),
            preflight=runtime.preflight,
        ).job
    assert job.total_outputs == 420 and job.total_tasks == 210
    await run_jobs(runtime, job.id)

    outputs = assert_stored_exactly_once(runtime, job.id)
    assert all(o.status == OutputStatus.succeeded for o in outputs)
    assert {o.archive_path.split("/")[0] for o in outputs} == {"cat", "dog"}
    stats = fake.stats()
    assert fake.script.pending == 0  # every injected fault happened
    # 210 tasks, plus one re-run for each of the 7 job faults, plus re-submits after
    # the 5 refused /run calls did not create jobs
    assert stats.runs_received == 210 + 7
    assert stats.largest_run_body_bytes < 10 * 1000 * 1000
    with runtime.session_factory() as s:
        tasks = s.scalars(select(Task).where(Task.job_id == job.id)).all()
        assert all(t.worker and t.execution_ms is not None for t in tasks)
        assert sum(t.attempts for t in tasks) == 217
        detail_job = s.get_one(Job, job.id)
        assert detail_job.status == JobStatus.completed


async def test_semi_auto_two_prompts_count_40(runtime: Runtime, fake: FakeRunPodServer) -> None:
    refs = upload_images(
        runtime, [(f"ref{i}.png", image_bytes(500 + i, fmt="PNG")) for i in range(3)]
    )
    fake.script.push_job(JobFault.failed("spot instance reclaimed"), times=2)
    with runtime.session_factory() as s:
        job = job_service.create_job(
            s,
            runtime.settings,
            runtime.catalog,
            SemiAutoJobCreate(
                reference_asset_ids=refs,
                prompts=[
                    SemiAutoPromptIn(prompt="product shot on marble", count=40),
                    SemiAutoPromptIn(prompt="product shot outdoors", count=40),
                ],
            ),
            preflight=runtime.preflight,
        ).job
    assert job.total_tasks == 20
    await run_jobs(runtime, job.id)
    outputs = assert_stored_exactly_once(runtime, job.id)
    assert len(outputs) == 80 and all(o.status == OutputStatus.succeeded for o in outputs)
    assert fake.stats().runs_received == 22


def _large_photo(seed: int) -> bytes:
    """A ~3 MB PNG a model would use at full size (smaller than 2048 px)."""
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 255, (1000, 1000, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG")
    return buf.getvalue()


async def test_fourteen_large_references_without_a_route_are_refused_before_spending(
    runtime: Runtime, fake: FakeRunPodServer
) -> None:
    refs = upload_images(runtime, [(f"big{i}.png", _large_photo(i)) for i in range(14)])
    with runtime.session_factory() as s, pytest.raises(TransportUnavailable, match="10 MB"):
        job_service.create_job(
            s,
            runtime.settings,
            runtime.catalog,
            SemiAutoJobCreate(
                reference_asset_ids=refs,
                prompts=[SemiAutoPromptIn(prompt="collage", count=4)],
            ),
            preflight=runtime.preflight,
        )
    assert fake.stats().runs_received == 0


async def test_fourteen_large_references_travel_by_signed_server_urls(
    settings: Settings, fake: FakeRunPodServer
) -> None:
    port = free_port()
    conf = runpod_settings(settings, fake, public_url=f"http://127.0.0.1:{port}")
    with serving(conf, port) as rt:
        refs = upload_images(rt, [(f"big{i}.png", _large_photo(i)) for i in range(14)])
        with rt.session_factory() as s:
            job = job_service.create_job(
                s,
                rt.settings,
                rt.catalog,
                SemiAutoJobCreate(
                    reference_asset_ids=refs,
                    prompts=[SemiAutoPromptIn(prompt="collage of all", count=8)],
                    options={"output_format": "png"},
                ),
                preflight=rt.preflight,
            ).job
        await run_jobs(rt, job.id)
        outputs = assert_stored_exactly_once(rt, job.id)
        assert all(o.status == OutputStatus.succeeded for o in outputs)
        stats = fake.stats()
        assert 0 < stats.largest_run_body_bytes <= 10 * 1000 * 1000
        assert stats.runs_received == 2
        # the bodies carried URLs, not 14 x 4 MB of base64
        jobs = fake.cloud.jobs()
        urls = [r for j in jobs for r in j.input["references"] if r.get("url")]
        assert urls and all("/api/v1/transport/get/" in r["url"] for r in urls)
        assert all((j.webhook or "").startswith(conf.public_url or "-") for j in jobs)
        await rt.stop()


async def test_cancel_withdraws_queued_tasks_and_keeps_running_ones(
    settings: Settings, tmp_path: Path
) -> None:
    with FakeRunPodServer(workers=1, jobs_per_worker=2) as fake:
        rt = build_runtime(runpod_settings(settings, fake, concurrency=12))
        make_dataset(tmp_path / "ds", {"a": 12})
        dataset_id = upload_folder(rt, tmp_path / "ds")
        fake.script.push_job(JobFault.delay(1.5), times=12)
        with rt.session_factory() as s:
            job = job_service.create_job(
                s,
                rt.settings,
                rt.catalog,
                AutomaticJobCreate(dataset_id=dataset_id, prompt="x", variations=1),
                preflight=rt.preflight,
            ).job
        await rt.start()
        for _ in range(200):  # until two run and the rest wait in RunPod's queue
            await asyncio.sleep(0.05)
            if fake.stats().max_concurrent_jobs >= 2 and fake.stats().runs_received == 12:
                break
        await asyncio.sleep(0.3)
        with rt.session_factory() as s:
            job_actions.cancel_job(s, job.id)
        await asyncio.wait_for(rt.orchestrator.wait_for_jobs([job.id]), 60)
        await asyncio.sleep(2.0)  # the running ones finish and are settled
        await rt.orchestrator.stop()
        outputs = assert_stored_exactly_once(rt, job.id)
        succeeded = [o for o in outputs if o.status == OutputStatus.succeeded]
        cancelled = [o for o in outputs if o.status == OutputStatus.cancelled]
        stats = fake.stats()
        assert stats.requests.get("cancel", 0) >= 8  # the queued ones were withdrawn
        assert stats.handler_invocations == len(succeeded) >= 2  # running ones kept
        assert len(succeeded) + len(cancelled) == 12
        await rt.stop()


def test_the_official_sdk_reads_the_same_endpoint(fake: FakeRunPodServer) -> None:
    import runpod

    runpod.api_key = fake.api_key
    runpod.endpoint_url_base = fake.api_url
    test_input = json.loads((Path(__file__).parents[2] / "worker" / "test_input.json").read_text())
    job = runpod.Endpoint(fake.endpoint_id).run(test_input["input"])
    output = job.output(timeout=60)
    assert job.status() == "COMPLETED"
    assert {s["status"] for s in output["slots"]} == {"succeeded"}


async def test_fourteen_large_references_travel_by_presigned_s3_urls(
    s3_settings: Settings, fake: FakeRunPodServer
) -> None:
    rt = build_runtime(runpod_settings(s3_settings, fake))
    refs = upload_images(rt, [(f"big{i}.png", _large_photo(i)) for i in range(14)])
    with rt.session_factory() as s:
        job = job_service.create_job(
            s,
            rt.settings,
            rt.catalog,
            SemiAutoJobCreate(
                reference_asset_ids=refs,
                prompts=[SemiAutoPromptIn(prompt="collage of all", count=8)],
            ),
            preflight=rt.preflight,
        ).job
    await run_jobs(rt, job.id)
    outputs = assert_stored_exactly_once(rt, job.id)
    assert all(o.status == OutputStatus.succeeded for o in outputs)
    jobs = fake.cloud.jobs()
    bodies = [j.input for j in jobs]
    assert all(0 < len(json.dumps(b)) < 10 * 1000 * 1000 for b in bodies)
    urls = [r["url"] for b in bodies for r in b["references"] if r.get("url")]
    assert urls and all("X-Amz-Signature" in u for u in urls)  # presigned GETs
    # with a bucket every image is uploaded (presigned PUT), none comes back inline
    for j in jobs:
        assert all(s.get("storage_key") and not s.get("image") for s in j.output["slots"])
    # and the export streams them back from the bucket
    _, chunks, _ = stream_job_zip(
        rt.session_factory, rt.storage, job.id, ExportSelection(), part_bytes=1 << 40
    )
    data = b"".join(chunks)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.testzip() is None
        assert len([n for n in zf.namelist() if n.endswith(".png")]) == 8
    await rt.stop()
