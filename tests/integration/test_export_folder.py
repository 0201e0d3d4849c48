"""`--out DIR` writes the folder directly: the same files, bytes and manifests as the
ZIP export of the same job, with no ZIP written in between."""

from __future__ import annotations

import io
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bananabatch.config import Settings
from bananabatch.export import ExportSelection, stream_job_zip
from bananabatch.export.folder import write_job_folder
from bananabatch.runtime import Runtime, build_runtime
from bananabatch.services import jobs as job_service
from bananabatch.services.job_requests import AutomaticJobCreate
from tests.imagegen import make_dataset
from tests.integration.job_helpers import run_jobs, upload_folder

pytestmark = pytest.mark.slow


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    rt = build_runtime(settings)
    yield rt
    await rt.stop()


async def test_the_folder_equals_the_zip(runtime: Runtime, tmp_path: Path) -> None:
    make_dataset(tmp_path / "ds", {"cat": 3, "dog": 2})
    dataset_id = upload_folder(runtime, tmp_path / "ds")
    with runtime.session_factory() as s:
        job = job_service.create_job(
            s,
            runtime.settings,
            runtime.catalog,
            AutomaticJobCreate(
                dataset_id=dataset_id, prompt="{fog|snow} {class}", variations=2, model="classic"
            ),
            preflight=None,
        ).job
    await run_jobs(runtime, job.id)

    _, chunks, _ = stream_job_zip(
        runtime.session_factory, runtime.storage, job.id, ExportSelection(), part_bytes=1 << 40
    )
    with zipfile.ZipFile(io.BytesIO(b"".join(chunks))) as zf:
        in_zip = {n: zf.read(n) for n in zf.namelist() if not n.endswith("/")}
    _check(runtime, job.id, tmp_path, in_zip)


def _check(runtime: Runtime, job_id: str, tmp_path: Path, in_zip: dict[str, bytes]) -> None:
    out = tmp_path / "out"
    written = write_job_folder(runtime.session_factory, runtime.storage, job_id, out)
    in_folder = {
        p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()
    }
    assert written == len(in_folder) == len(in_zip) == 2 + 10
    assert in_folder == in_zip
    assert not list(tmp_path.rglob("*.zip"))
