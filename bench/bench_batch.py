"""One automatic job of 210 images through the Gemini Batch API against the fake
Gemini server, beside the same job at standard price: outputs stored, batches made,
paid lines counted by the fake, and each job's ledger. `python -m bench.bench_batch`.

The figures are money, not time: the ledger of the batch job is half the standard
one, and equal to the fake's own count of billed lines."""

from __future__ import annotations

import asyncio
import logging
import tempfile
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy import func, select
from tests.fakes.gemini_server import FakeGeminiServer
from tests.imagegen import make_dataset
from tests.integration.job_helpers import outputs_of, upload_folder

from bananabatch.config import Settings
from bananabatch.db.models import GeminiBatch, Job, OutputStatus, SpendEntry
from bananabatch.runtime import Runtime, build_runtime
from bananabatch.services import jobs as job_service
from bananabatch.services.job_requests import AutomaticJobCreate

log = logging.getLogger("bench.batch")
MODEL = "gemini-3-pro-image"
IMAGES = 210


def _settings(root: Path, gemini: FakeGeminiServer) -> Settings:
    return Settings(
        data_dir=root,
        gemini_api_key=SecretStr("bench-key"),
        gemini_base_url=gemini.base_url,
        gemini_preflight=False,
        concurrency=16,
        batch_max_lines=100,
        batch_gather_seconds=0.5,
        batch_poll_seconds=0.1,
    )


async def _run(rt: Runtime, dataset_id: str, batch: bool) -> str:
    with rt.session_factory() as s:
        job = job_service.create_job(
            s,
            rt.settings,
            rt.catalog,
            AutomaticJobCreate(
                dataset_id=dataset_id,
                prompt="the same {class}, overcast light",
                model=MODEL,
                use_batch_api=batch,
            ),
            preflight=None,
        ).job
    await rt.start()
    try:
        await asyncio.wait_for(rt.orchestrator.wait_for_jobs([job.id]), 600)
    finally:
        await rt.orchestrator.stop()
    return job.id


def _figures(rt: Runtime, job_id: str) -> dict[str, float]:
    with rt.session_factory() as s:
        job = s.get_one(Job, job_id)
        ledger, calls = s.execute(
            select(func.sum(SpendEntry.cost), func.count()).where(SpendEntry.job_id == job_id)
        ).one()
        batches = s.scalar(
            select(func.count()).select_from(GeminiBatch).where(GeminiBatch.job_id == job_id)
        )
        estimate = job.cost_estimate
    stored = sum(1 for o in outputs_of(rt, job_id) if o.status == OutputStatus.succeeded)
    return {
        "stored": stored,
        "ledger": float(ledger or 0),
        "calls": int(calls),
        "estimate": estimate,
        "batches": int(batches or 0),
    }


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, FakeGeminiServer() as gemini:
        root = Path(tmp)
        make_dataset(root / "ds", {"cat": 110, "dog": 100})
        results = {}
        for batch in (True, False):
            rt = build_runtime(_settings(root / ("batch" if batch else "standard"), gemini))
            try:
                dataset_id = upload_folder(rt, root / "ds")
                before = sum(gemini.batches.paid_keys.values()), gemini.hits(":generateContent")
                job_id = await _run(rt, dataset_id, batch)
                figures = _figures(rt, job_id)
                lines = sum(gemini.batches.paid_keys.values()) - before[0]
                direct = gemini.hits(":generateContent") - before[1]
                figures["fake_paid"] = lines if batch else direct
                results["batch" if batch else "standard"] = figures
            finally:
                await rt.stop()
    b, s = results["batch"], results["standard"]
    print(f"automatic job, {IMAGES} images x 1 variation, {MODEL}")
    print(f"{'':24}{'Batch API':>14}{'standard':>14}")
    for key in ("stored", "batches", "calls", "fake_paid", "estimate", "ledger"):
        money = key in ("estimate", "ledger")
        fmt = (lambda v: f"${v:,.4f}") if money else (lambda v: f"{int(v):,}")
        print(f"{key:24}{fmt(b[key]):>14}{fmt(s[key]):>14}")
    print(f"ledger ratio batch/standard: {b['ledger'] / s['ledger']:.3f} (target 0.5)")
    print(f"batch ledger vs its estimate: {abs(b['ledger'] - b['estimate']) / b['estimate']:.2%}")
    print(f"batch ledger calls == fake's billed lines: {b['calls'] == b['fake_paid']}")


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main())
