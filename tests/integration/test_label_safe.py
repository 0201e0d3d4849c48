"""Gemini outputs on a labelled dataset, through the real google-genai client and the
fake Gemini server: each output is asked at the source's closest aspect ratio,
fitted back to the source's size with its labels, and checked against its source.
A model answer that moved the layout is flagged label-unsafe and left out of the
labelled export; one that only recoloured is not. Identical variations and an
answer equal to its source are flagged; a wrong aspect ratio is flagged."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from bananabatch.config import Settings
from bananabatch.db.models import Output, OutputFlag, OutputStatus
from bananabatch.export import ExportSelection, stream_job_zip
from bananabatch.ingest.dataset_items import create_dataset
from bananabatch.ingest.service import ingest_files
from bananabatch.runtime import Runtime, build_runtime
from bananabatch.services import jobs as job_service
from bananabatch.services.job_requests import (
    AutomaticJobCreate,
    JobOptionsIn,
    SemiAutoJobCreate,
    SemiAutoPromptIn,
)
from tests import labelled
from tests.fakes.gemini_server import FakeGeminiServer

pytestmark = pytest.mark.slow
MODEL = "gemini-2.5-flash-image"
PROMPTS = {
    "images/train/astronaut.jpg": "[[shift:0.15]] the same scene at dusk",
    "images/train/coffee.jpg": "[[recolour]] the same scene in other colours",
    "images/train/chelsea.jpg": "[[echo]] the same scene",
}


@pytest.fixture
def fake() -> Iterator[FakeGeminiServer]:
    with FakeGeminiServer(default_retry_delay="0.1s") as server:
        yield server


@pytest.fixture
async def runtime(settings: Settings, fake: FakeGeminiServer) -> AsyncIterator[Runtime]:
    rt = build_runtime(
        settings.model_copy(
            update={"gemini_api_key": SecretStr("test-key"), "gemini_base_url": fake.base_url}
        )
    )
    yield rt
    await rt.stop()


async def _run(rt: Runtime, job_id: str) -> None:
    await rt.start()
    await asyncio.wait_for(rt.orchestrator.wait_for_jobs([job_id]), 120)
    await rt.orchestrator.stop()


def _flags(rt: Runtime, job_id: str) -> dict[str, set[str]]:
    """source path -> flags of its outputs (union)."""
    with rt.session_factory() as s:
        rows = s.execute(
            select(Output.source_path, OutputFlag.flag)
            .join(OutputFlag, OutputFlag.output_id == Output.id)
            .where(Output.job_id == job_id)
        ).all()
    out: dict[str, set[str]] = {}
    for path, flag in rows:
        out.setdefault(path or "", set()).add(flag)
    return out


async def test_gemini_outputs_are_fitted_checked_and_flagged(
    runtime: Runtime, fake: FakeGeminiServer, tmp_path: Path
) -> None:
    built = labelled.yolo()
    with runtime.session_factory() as s:
        dataset_id = create_dataset(s, "signs").id
        files = [(k, io.BytesIO(v)) for k, v in built.files.items()]
        assert ingest_files(s, runtime.storage, runtime.settings, dataset_id, files).errors == []  # type: ignore[arg-type]
        csv = "path,prompt\n" + "".join(f"{p},{t}\n" for p, t in PROMPTS.items())
        job = job_service.create_job(
            s,
            runtime.settings,
            runtime.catalog,
            AutomaticJobCreate(
                dataset_id=dataset_id, prompt="x", prompts_csv=csv, variations=2, model=MODEL
            ),
            storage=runtime.storage,
            preflight=None,
        ).job
    await _run(runtime, job.id)

    asked = {r.image_config.get("aspectRatio") for r in fake.requests if r.image_config}
    assert asked == {"1:1", "3:2"}  # astronaut is square; coffee and chelsea are 3:2
    with runtime.session_factory() as s:
        outputs = list(s.scalars(select(Output).where(Output.job_id == job.id)))
    assert len(outputs) == 6 and all(o.status == OutputStatus.succeeded for o in outputs)
    for o in outputs:  # fitted back to the source's size, labels carried
        photo = built.photos[o.source_path or ""]
        assert (o.width, o.height) == photo.size
        assert o.labels is not None and len(o.labels) == 2
        assert o.transform is not None and o.transform["matrix"] is not None

    flags = _flags(runtime, job.id)
    assert "label_unsafe" in flags["images/train/astronaut.jpg"]
    assert "label_unsafe" not in flags.get("images/train/coffee.jpg", set())
    assert flags["images/train/coffee.jpg"] == {"near_duplicate"}  # two identical recolours
    assert flags["images/train/chelsea.jpg"] == {"near_duplicate", "near_identical"}

    _, chunks, _ = stream_job_zip(
        runtime.session_factory, runtime.storage, job.id, ExportSelection(), part_bytes=1 << 40
    )
    with zipfile.ZipFile(io.BytesIO(b"".join(chunks))) as zf:
        names = set(zf.namelist())
        rows = [json.loads(line) for line in zf.read("manifest.jsonl").splitlines()]
    assert not any(n.startswith("images/train/astronaut__v") for n in names)
    assert not any(n.startswith("labels/train/astronaut__v") for n in names)
    assert {n for n in names if "__v" in n and n.startswith("labels/")} == {
        f"labels/train/{name}__v{v}.txt" for name in ("coffee", "chelsea") for v in (1, 2)
    }
    moved = [r for r in rows if r["source_path"] == "images/train/astronaut.jpg"]
    assert all(r["excluded"] and "layout moved" in r["excluded"] for r in moved)
    assert all("label_unsafe" in r["flags"] for r in moved)

    _, chunks, _ = stream_job_zip(
        runtime.session_factory,
        runtime.storage,
        job.id,
        ExportSelection(include_flagged=True),
        part_bytes=1 << 40,
    )
    with zipfile.ZipFile(io.BytesIO(b"".join(chunks))) as zf:
        assert sum(n.startswith("images/train/astronaut__v") for n in zf.namelist()) == 2


async def test_a_wrong_aspect_ratio_is_flagged(
    runtime: Runtime, fake: FakeGeminiServer, tmp_path: Path
) -> None:
    ref = labelled.encode(labelled.photo("astronaut", "train").image, "PNG")  # square
    with runtime.session_factory() as s:
        report = ingest_files(
            s, runtime.storage, runtime.settings, None, [("ref.png", io.BytesIO(ref))]
        )
        job = job_service.create_job(
            s,
            runtime.settings,
            runtime.catalog,
            SemiAutoJobCreate(
                reference_asset_ids=[report.accepted[0].asset_id],
                prompts=[SemiAutoPromptIn(prompt="a wide banner", count=2)],
                model=MODEL,
                options=JobOptionsIn(aspect_ratio="16:9"),
            ),
            preflight=None,
            storage=runtime.storage,
        ).job
    await _run(runtime, job.id)  # the fake answers at the reference's (square) size
    with runtime.session_factory() as s:
        details = s.scalars(
            select(OutputFlag.detail).where(
                OutputFlag.job_id == job.id, OutputFlag.flag == "wrong_size"
            )
        ).all()
    assert len(details) == 2 and all("the job asked for 1.778" in d for d in details)
