"""Whole classic jobs with every byte in S3 (moto in server mode): ingest ->
orchestrator -> local executor -> worker -> storage -> export, as in
test_engine.py, with nothing written to the local store."""

from __future__ import annotations

import io
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image

from bananabatch.config import Settings
from bananabatch.db.models import Job, JobStatus, OutputStatus
from bananabatch.export import ExportSelection, stream_job_zip
from bananabatch.runtime import Runtime, build_runtime
from bananabatch.services import jobs as job_service
from bananabatch.services.job_requests import (
    AutomaticJobCreate,
    SemiAutoJobCreate,
    SemiAutoPromptIn,
)
from bananabatch.storage.keys import output_thumb_key
from bananabatch.storage.s3 import S3Storage
from tests.fakes.s3_server import PREFIX, S3Bucket
from tests.imagegen import make_dataset
from tests.integration.job_helpers import upload_folder
from tests.integration.test_engine import (
    _assert_storage_matches_db,
    _outputs,
    _run,
    _upload_refs,
)

pytestmark = pytest.mark.slow


@pytest.fixture
async def s3_runtime(s3_settings: Settings) -> AsyncIterator[Runtime]:
    rt = build_runtime(s3_settings.model_copy(update={"concurrency": 4}))
    assert isinstance(rt.storage, S3Storage)
    yield rt
    await rt.stop()


async def test_automatic_classic_job_on_s3(
    s3_runtime: Runtime, s3_bucket: S3Bucket, tmp_path: Path
) -> None:
    make_dataset(tmp_path / "ds", {"cat": 4, "dog": 3})
    dataset_id = upload_folder(s3_runtime, tmp_path / "ds")
    with s3_runtime.session_factory() as s:
        job = job_service.create_job(
            s,
            s3_runtime.settings,
            s3_runtime.catalog,
            AutomaticJobCreate(
                dataset_id=dataset_id, prompt="{night|rain} photo of a {class}", variations=2
            ),
            preflight=s3_runtime.preflight,
            storage=s3_runtime.storage,
        ).job
    assert job.total_outputs == 14
    await _run(s3_runtime, job.id, limit=120)

    outputs = _outputs(s3_runtime, job.id)
    assert {o.status for o in outputs} == {OutputStatus.succeeded}
    with s3_runtime.session_factory() as s:
        assert s.get_one(Job, job.id).status == JobStatus.completed
    _assert_storage_matches_db(s3_runtime, job.id)
    raw = set(s3_bucket.raw_keys())
    for o in outputs:
        assert f"{PREFIX}/{o.storage_key}" in raw
        # thumbnails are made when the gallery first asks, never during generation
        assert f"{PREFIX}/{output_thumb_key(job.id, o.id)}" not in raw
    assert sum(k.startswith(f"{PREFIX}/assets/") for k in raw) == 7
    assert not (s3_runtime.settings.data_dir / "store").exists()

    sample = s3_runtime.storage.get_bytes(outputs[0].storage_key or "")
    with Image.open(io.BytesIO(sample)) as img:
        assert img.size == (outputs[0].width, outputs[0].height)
        assert img.text.get("prompt") == outputs[0].prompt  # metadata embedded

    _, chunks, length = stream_job_zip(
        s3_runtime.session_factory,
        s3_runtime.storage,
        job.id,
        ExportSelection(include_originals=True),
        part_bytes=1 << 40,
    )
    data = b"".join(chunks)
    assert length == len(data)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.testzip() is None
        assert {"cat/000.jpg", "cat/000__v1.png", "dog/002__v2.png"} <= set(zf.namelist())
        assert len(zf.namelist()) == 2 + 7 + 14


async def test_semi_auto_job_reads_its_references_from_s3(s3_runtime: Runtime) -> None:
    refs = _upload_refs(s3_runtime, 2)
    with s3_runtime.session_factory() as s:
        job = job_service.create_job(
            s,
            s3_runtime.settings,
            s3_runtime.catalog,
            SemiAutoJobCreate(
                reference_asset_ids=refs,
                prompts=[SemiAutoPromptIn(prompt="a red car at night", count=6)],
            ),
            preflight=s3_runtime.preflight,
            storage=s3_runtime.storage,
        ).job
    await _run(s3_runtime, job.id, limit=120)
    outputs = _outputs(s3_runtime, job.id)
    assert [o.status for o in outputs] == [OutputStatus.succeeded] * 6
    _assert_storage_matches_db(s3_runtime, job.id)
