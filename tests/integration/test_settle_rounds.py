"""Settling in rounds (`Settler.settle_many`, `record_outputs`): the flags of a round's
outputs are decided together, so outputs of one round must still see each other and
the outputs of earlier rounds as siblings, and never the outputs of another source;
the ledger gets one entry per paid image."""

from __future__ import annotations

import asyncio
import io
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from bananabatch.config import Settings
from bananabatch.db.models import OutputFlag, OutputStatus, SpendEntry
from bananabatch.providers.base import GeneratedImage, GenerationRequest
from bananabatch.runtime import build_runtime
from bananabatch.services import jobs as job_service
from bananabatch.services.job_requests import AutomaticJobCreate
from tests.imagegen import make_dataset
from tests.integration.job_helpers import assert_stored_exactly_once, run_jobs, upload_folder


class SameImageProvider:
    """Every call answers the same picture: each variation a near-duplicate of the rest."""

    name = "classic"

    def __init__(self, delays: list[float]) -> None:
        buf = io.BytesIO()
        Image.effect_noise((96, 64), 60).convert("RGB").save(buf, "PNG")
        self._data = buf.getvalue()
        self._delays = delays
        self.calls = 0

    async def generate(self, request: GenerationRequest) -> GeneratedImage:
        # staggered: some tasks finish alone, others together with siblings' tasks
        await asyncio.sleep(self._delays[self.calls % len(self._delays)])
        self.calls += 1
        return GeneratedImage(data=self._data, mime_type="image/png", width=96, height=64)

    async def aclose(self) -> None:
        return None


@pytest.mark.parametrize("concurrency", [1, 8])
async def test_near_duplicates_are_flagged_within_and_across_rounds(
    settings: Settings, tmp_path: Path, concurrency: int
) -> None:
    rt = build_runtime(
        settings.model_copy(
            update={"concurrency": concurrency, "outputs_per_task": 2, "cpu_processes": 0}
        )
    )
    rt.providers.register("classic", SameImageProvider([0.0, 0.05, 0.01, 0.1]))
    make_dataset(tmp_path / "ds", {"cat": 3, "dog": 3})
    dataset_id = upload_folder(rt, tmp_path / "ds")
    with rt.session_factory() as s:
        job = job_service.create_job(
            s,
            rt.settings,
            rt.catalog,
            AutomaticJobCreate(dataset_id=dataset_id, prompt="a {class}", variations=4),
            preflight=rt.preflight,
        ).job
    assert job.total_outputs == 24 and job.total_tasks == 12  # two tasks per source
    try:
        await run_jobs(rt, job.id, limit=60)
        outputs = assert_stored_exactly_once(rt, job.id)
        assert all(o.status == OutputStatus.succeeded for o in outputs)
        with rt.session_factory() as s:
            flags = s.scalars(select(OutputFlag).where(OutputFlag.job_id == job.id)).all()
            ledger = s.scalars(select(SpendEntry).where(SpendEntry.job_id == job.id)).all()
    finally:
        await rt.stop()
    source_of = {o.id: o.source_asset_id for o in outputs}
    named: dict[str, list[str]] = {o.id: [] for o in outputs}
    for f in flags:
        if f.flag != "near_duplicate":
            continue  # a noise image keeps nothing of its source's layout: label_unsafe
        assert f.other_output_id is not None
        named[f.output_id].append(f.other_output_id)
    for output_id, others in named.items():
        siblings = {o for o, src in source_of.items() if src == source_of[output_id]}
        # each of its three siblings exactly once, whichever round each was settled in
        assert sorted(others) == sorted(siblings - {output_id}), output_id
    assert Counter(e.output_id for e in ledger) == {o.id: 1 for o in outputs}
    assert all(e.outcome == "image" and not e.paid_twice for e in ledger)
    assert sum(e.cost for e in ledger) == pytest.approx(sum(o.cost for o in outputs))
