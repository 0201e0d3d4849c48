"""A text-only answer is retried once per output, whatever errors come in between."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from bananabatch.config import Settings
from bananabatch.db.models import Output, OutputStatus
from bananabatch.runtime import build_runtime
from bananabatch.services import jobs as job_service
from bananabatch.services.job_requests import SemiAutoJobCreate, SemiAutoPromptIn
from tests.fakes.gemini_server import FakeGeminiServer, Fault

pytestmark = pytest.mark.slow

MODEL = "gemini-2.5-flash-image"


@pytest.fixture
def fake_gemini() -> Iterator[FakeGeminiServer]:
    with FakeGeminiServer(default_retry_delay="0.01s") as server:
        yield server


async def test_rate_limits_between_text_only_answers_do_not_buy_a_third_one(
    settings: Settings, fake_gemini: FakeGeminiServer
) -> None:
    rt = build_runtime(
        settings.model_copy(
            update={
                "gemini_api_key": SecretStr("test-key"),
                "gemini_base_url": fake_gemini.base_url,
                "max_attempts": 8,
            }
        )
    )
    fake_gemini.script.push(Fault.text_only())
    # The worker retries a 429 twice by itself: three in a row reach the scheduler.
    fake_gemini.script.push(Fault.rate_limit(retry_delay="0.01s"), times=3)
    fake_gemini.script.push(Fault.text_only(), times=None)
    try:
        with rt.session_factory() as s:
            job = job_service.create_job(
                s,
                rt.settings,
                rt.catalog,
                SemiAutoJobCreate(prompts=[SemiAutoPromptIn(prompt="a teapot", count=1)],
                                  model=MODEL),
                preflight=rt.preflight,
            ).job  # fmt: skip
        await rt.start()
        await asyncio.wait_for(rt.orchestrator.wait_for_jobs([job.id]), 60)
        await rt.orchestrator.stop()
        with rt.session_factory() as s:
            output = s.scalars(select(Output).where(Output.job_id == job.id)).one()
        assert output.status == OutputStatus.failed
        assert "without an image twice" in (output.error or "")
        assert len(fake_gemini.requests) == 5  # text-only, 3 x 429, text-only: no third
    finally:
        await rt.stop()
