"""Whole jobs through the Gemini Batch API against the fake Gemini server (Files +
Batch APIs): every non-blocked output stored exactly once, the ledger equal to the
fake's billed lines and within 1% of the estimate, and batches that expire or whose
results are lost end with their outputs run again and the ledger saying so."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from bananabatch.config import Settings
from bananabatch.db.models import GeminiBatch, Job, JobStatus, OutputStatus, SpendEntry
from bananabatch.errors import ValidationFailed
from bananabatch.runtime import Runtime, build_runtime
from bananabatch.services import jobs as job_service
from bananabatch.services.job_requests import (
    AutomaticJobCreate,
    SemiAutoJobCreate,
    SemiAutoPromptIn,
)
from tests.fakes.gemini_server import FakeGeminiServer
from tests.imagegen import image_bytes, make_dataset
from tests.integration.job_helpers import (
    assert_stored_exactly_once,
    outputs_of,
    run_jobs,
    upload_folder,
    upload_images,
)

pytestmark = pytest.mark.slow
MODEL = "gemini-3-pro-image"


@pytest.fixture
def gemini() -> Iterator[FakeGeminiServer]:
    with FakeGeminiServer(default_retry_delay="0.05s") as server:
        yield server


def batch_settings(settings: Settings, gemini: FakeGeminiServer, **extra: object) -> Settings:
    return settings.model_copy(
        update={
            "gemini_api_key": SecretStr("test-key"),
            "gemini_base_url": gemini.base_url,
            "gemini_preflight": False,
            "concurrency": 8,
            "batch_max_lines": 40,
            "batch_gather_seconds": 0.2,
            "batch_poll_seconds": 0.05,
            "batch_download_retry_seconds": 0.05,
            "batch_download_attempts": 4,
            **extra,
        }
    )


@pytest.fixture
async def runtime(settings: Settings, gemini: FakeGeminiServer) -> AsyncIterator[Runtime]:
    rt = build_runtime(batch_settings(settings, gemini))
    yield rt
    await rt.stop()


def _auto(rt: Runtime, dataset_id: str, prompt: str, **extra: object) -> Job:
    with rt.session_factory() as s:
        return job_service.create_job(
            s,
            rt.settings,
            rt.catalog,
            AutomaticJobCreate(
                dataset_id=dataset_id,
                prompt=prompt,
                variations=2,
                model=MODEL,
                use_batch_api=True,
                **extra,
            ),
            preflight=None,
        ).job


def _ledger(rt: Runtime, job_id: str) -> list[SpendEntry]:
    with rt.session_factory() as s:
        return list(s.scalars(select(SpendEntry).where(SpendEntry.job_id == job_id)))


def _batches(rt: Runtime, job_id: str) -> list[GeminiBatch]:
    with rt.session_factory() as s:
        return list(s.scalars(select(GeminiBatch).where(GeminiBatch.job_id == job_id)))


async def test_automatic_job_through_the_batch_api(
    runtime: Runtime, gemini: FakeGeminiServer, tmp_path: Path
) -> None:
    make_dataset(tmp_path / "ds", {"cat": 12, "dog": 9})
    dataset_id = upload_folder(runtime, tmp_path / "ds")
    job = _auto(runtime, dataset_id, "the same {class} at dusk, photographic")
    assert job.route == "batch"
    await run_jobs(runtime, job.id)

    outputs = assert_stored_exactly_once(runtime, job.id)
    assert len(outputs) == 42 and all(o.status == OutputStatus.succeeded for o in outputs)
    # nothing went through generateContent: every image was a batch line, billed once
    assert gemini.hits(":generateContent") == 0
    assert sum(gemini.batches.paid_keys.values()) == 42
    assert set(gemini.batches.paid_keys.values()) == {1}
    batches = _batches(runtime, job.id)
    assert 2 <= len(batches) <= 42 // 4 and all(b.state == "succeeded" for b in batches)
    assert all(gemini.batches.created[b.display_name] == 1 for b in batches)
    # batches recorded and sent by one process need no look-up by display name
    assert gemini.path_counts.get("GET /v1beta/batches", 0) == 0

    ledger = _ledger(runtime, job.id)
    assert len(ledger) == sum(gemini.batches.paid_keys.values())
    assert {e.route for e in ledger} == {"batch"} and not any(e.paid_twice for e in ledger)
    with runtime.session_factory() as s:
        done = s.get_one(Job, job.id)
        assert done.status == JobStatus.completed
        actual, estimate = done.cost_actual, done.cost_estimate
    assert actual == pytest.approx(sum(e.cost for e in ledger))
    assert abs(actual - estimate) <= 0.01 * estimate
    # half the standard price: the same plan priced on the standard route
    model, _ = runtime.catalog.resolve(MODEL)
    assert actual == pytest.approx(42 * model.price_for(None) / 2, rel=0.05)


async def test_semi_auto_job_with_blocks_and_per_line_errors(
    runtime: Runtime, gemini: FakeGeminiServer
) -> None:
    refs = upload_images(runtime, [("ref.jpg", image_bytes(7, (96, 64)))])
    with runtime.session_factory() as s:
        job = job_service.create_job(
            s,
            runtime.settings,
            runtime.catalog,
            SemiAutoJobCreate(
                reference_asset_ids=refs,
                prompts=[
                    SemiAutoPromptIn(prompt="a poster of the mug", count=8),
                    SemiAutoPromptIn(prompt="[[block]] a forbidden mug", count=4),
                    SemiAutoPromptIn(prompt="[[503x1]] a mug on a shelf", count=4),
                ],
                model=MODEL,
                use_batch_api=True,
            ),
            preflight=None,
        ).job
    await run_jobs(runtime, job.id)

    outputs = outputs_of(runtime, job.id)
    by_status: dict[str, int] = {}
    for o in outputs:
        by_status[o.status] = by_status.get(o.status, 0) + 1
    assert by_status == {OutputStatus.succeeded: 12, OutputStatus.blocked: 4}
    assert_stored_exactly_once(runtime, job.id)
    # blocked lines are billed and recorded, never sent again
    blocked = [o.id for o in outputs if o.status == OutputStatus.blocked]
    assert all(gemini.batches.paid_keys[f"{oid}.1"] == 1 for oid in blocked)
    assert not any(
        k.startswith(tuple(blocked)) and k.endswith(".2") for k in gemini.batches.paid_keys
    )
    # the 503 lines failed once (not billed) and ran again in a second round
    shelf = [o for o in outputs if "shelf" in o.prompt]
    assert all(o.status == OutputStatus.succeeded and o.attempt == 2 for o in shelf)
    ledger = _ledger(runtime, job.id)
    assert len(ledger) == sum(gemini.batches.paid_keys.values()) == 16
    assert sum(1 for e in ledger if e.outcome == "blocked") == 4


async def test_expired_and_lost_batches_run_again_and_the_ledger_shows_it(
    settings: Settings, gemini: FakeGeminiServer, tmp_path: Path
) -> None:
    make_dataset(tmp_path / "ds", {"cat": 6})
    rt = build_runtime(batch_settings(settings, gemini))
    try:
        dataset_id = upload_folder(rt, tmp_path / "ds")
        expired = _auto(rt, dataset_id, "an expired cat")
        lost = _auto(rt, dataset_id, "a lost cat")
        fallback = _auto(rt, dataset_id, "a cat in a hurry", batch_fallback="standard")
        names = {j.id: f"bananabatch-{j.id}-" for j in (expired, lost, fallback)}
        gemini.batch_controls.expire.add(names[expired.id])
        gemini.batch_controls.expire.add(names[fallback.id])
        gemini.batch_controls.lose_results[names[lost.id]] = -1

        await rt.start()
        # the first round of each ends without results; later rounds are let through
        for _ in range(600):
            ended = {j: {b.state for b in _batches(rt, j)} for j in names}
            if "expired" in ended[expired.id] and "lost" in ended[lost.id]:
                break
            await asyncio.sleep(0.05)
        assert "expired" in ended[expired.id] and "lost" in ended[lost.id]
        gemini.batch_controls.expire.discard(names[expired.id])
        gemini.batch_controls.lose_results.clear()
        await asyncio.wait_for(
            rt.orchestrator.wait_for_jobs([expired.id, lost.id, fallback.id]), 240
        )

        for job in (expired, lost):
            outputs = assert_stored_exactly_once(rt, job.id)
            assert all(o.status == OutputStatus.succeeded for o in outputs)
            states = sorted(b.state for b in _batches(rt, job.id))
            assert states[-1] == "succeeded" and states[0] in ("expired", "lost")
        # an expired batch never ran: nothing billed twice
        assert not any(e.paid_twice for e in _ledger(rt, expired.id))
        assert len(_ledger(rt, expired.id)) == 12
        # lost results were billed: the second run of each output shows as paid twice
        lost_ledger = _ledger(rt, lost.id)
        assert (
            len(lost_ledger)
            == 24
            == sum(
                n
                for k, n in gemini.batches.paid_keys.items()
                if k.split(".")[0] in {o.id for o in outputs_of(rt, lost.id)}
            )
        )
        assert sum(1 for e in lost_ledger if e.paid_twice) == 12
        # the user chose the standard route after a loss: one expired batch, then
        # generateContent at full price, nothing billed twice
        # (under load its tasks may be gathered into more than one batch: all expired)
        assert {b.state for b in _batches(rt, fallback.id)} == {"expired"}
        assert all(o.status == OutputStatus.succeeded for o in outputs_of(rt, fallback.id))
        assert gemini.calls(prompt_contains="a cat in a hurry") == 12
        assert {e.route for e in _ledger(rt, fallback.id)} == {"standard"}
    finally:
        await rt.stop()


def test_batch_api_needs_a_gemini_model(runtime: Runtime, tmp_path: Path) -> None:
    make_dataset(tmp_path / "ds", {"cat": 1})
    dataset_id = upload_folder(runtime, tmp_path / "ds")
    with runtime.session_factory() as s, pytest.raises(ValidationFailed, match="Batch API"):
        job_service.create_job(
            s,
            runtime.settings,
            runtime.catalog,
            AutomaticJobCreate(
                dataset_id=dataset_id, prompt="x", model="classic", use_batch_api=True
            ),
            preflight=None,
        )


async def test_estimate_prices_the_batch_route_at_half(runtime: Runtime, tmp_path: Path) -> None:
    make_dataset(tmp_path / "ds", {"cat": 5})
    dataset_id = upload_folder(runtime, tmp_path / "ds")
    with runtime.session_factory() as s:
        est = {
            flag: job_service.estimate_job(
                s,
                runtime.settings,
                runtime.catalog,
                AutomaticJobCreate(
                    dataset_id=dataset_id, prompt="a cat", model=MODEL, use_batch_api=flag
                ),
                preflight=None,
            )
            for flag in (False, True)
        }
    assert est[True].cost_usd == pytest.approx(est[False].cost_usd / 2, rel=0.01)
    assert est[True].cost_usd == pytest.approx(est[False].batch_cost_usd)
    with runtime.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(GeminiBatch)) == 0


def test_cli_runs_a_job_through_the_batch_api(
    gemini: FakeGeminiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from bananabatch.cli import EXIT_BAD_INPUT, EXIT_OK, app
    from bananabatch.config import get_settings

    make_dataset(tmp_path / "ds", {"cat": 3, "dog": 2})
    monkeypatch.chdir(tmp_path)
    for name, value in {
        "BANANABATCH_DATA_DIR": str(tmp_path / "data"),
        "GEMINI_API_KEY": "test-key",
        "BANANABATCH_GEMINI_BASE_URL": gemini.base_url,
        "BANANABATCH_GEMINI_PREFLIGHT": "false",
        "BANANABATCH_BATCH_GATHER_SECONDS": "0.2",
        "BANANABATCH_BATCH_POLL_SECONDS": "0.05",
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        base = ["run", "automatic", str(tmp_path / "ds"), "--prompt", "a {class}"]
        refused = CliRunner().invoke(app, [*base, "--model", "classic", "--batch-api"])
        assert refused.exit_code == EXIT_BAD_INPUT and "Batch API" in refused.output
        result = CliRunner().invoke(
            app, [*base, "--model", MODEL, "--batch-api", "--out", str(tmp_path / "out")]
        )
        assert result.exit_code == EXIT_OK, result.output
        assert len(list((tmp_path / "out").rglob("*.png"))) == 5
        assert sum(gemini.batches.paid_keys.values()) == 5
        job_id = result.output.split("Job ")[1].split(":")[0].strip()
        shown = CliRunner().invoke(app, ["jobs", "show", job_id])
        assert "route: Gemini Batch API" in shown.output
        assert "Gemini batch bananabatch-" in shown.output and "succeeded" in shown.output
        read = re.findall(r"(\d+)/(\d+) line\(s\) read, submitted", shown.output)
        assert read and all(a == b for a, b in read) and sum(int(a) for a, _ in read) == 5
        assert "OVERDUE" not in shown.output
    finally:
        get_settings.cache_clear()
