"""The RunPod worker entry point `worker/handler.py`, called directly."""

from __future__ import annotations

import base64
import copy
import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from PIL import Image

from bananabatch.contracts import TaskResult
from tests.fakes.gemini_server import FakeGeminiServer
from tests.fakes.runpod_jobs import WORKER_HANDLER, load_worker_handler

TEST_INPUT = WORKER_HANDLER.parent / "test_input.json"
_ENV = ("BANANABATCH_JOBS_PER_WORKER", "BANANABATCH_WORKER_CONCURRENCY", "RUNPOD_POD_ID")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for var in (*_ENV, "GEMINI_API_KEY", "GOOGLE_API_KEY", "BANANABATCH_GEMINI_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env
    return monkeypatch


@pytest.fixture
def worker(clean_env: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    module = load_worker_handler()
    yield module


def _job(**changes: Any) -> dict[str, Any]:
    job: dict[str, Any] = json.loads(TEST_INPUT.read_text())
    job["id"] = "job-1"
    job["input"].update(changes)
    return job


async def test_test_input_gives_a_task_result(worker: ModuleType) -> None:
    job = _job()
    output = await worker.handler(job)
    json.dumps(output)  # what RunPod stores must be plain JSON
    result = TaskResult.model_validate(output)
    assert result.task_id == job["input"]["task_id"]
    assert [s.status for s in result.slots] == ["succeeded", "succeeded"]
    assert [s.output_id for s in result.slots] == ["test-output-1", "test-output-2"]
    for slot in result.slots:
        assert slot.image is not None and slot.image.data_b64 is not None
        with Image.open(io.BytesIO(base64.b64decode(slot.image.data_b64))) as img:
            assert img.size == (12, 12)
    assert result.worker.startswith("runpod:")
    await worker.PROVIDERS.aclose()


async def test_worker_name_and_limits_come_from_the_env(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("RUNPOD_POD_ID", "pod-abc")
    clean_env.setenv("BANANABATCH_JOBS_PER_WORKER", "7")
    clean_env.setenv("BANANABATCH_WORKER_CONCURRENCY", "3")
    module = load_worker_handler()
    assert module.concurrency_modifier(1) == 7
    assert module.OPTIONS.concurrency == 3
    result = TaskResult.model_validate(await module.handler(_job()))
    assert result.worker == "runpod:pod-abc"
    await module.PROVIDERS.aclose()


def test_a_bad_jobs_per_worker_stops_the_worker_at_start(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("BANANABATCH_JOBS_PER_WORKER", "0")
    with pytest.raises(ValueError, match="BANANABATCH_JOBS_PER_WORKER must be a positive integer"):
        load_worker_handler()


async def test_invalid_input_raises_a_clear_error(worker: ModuleType) -> None:
    job = _job()
    del job["input"]["slots"]
    job["input"]["mode"] = "sideways"
    with pytest.raises(ValueError) as info:
        await worker.handler(job)
    message = str(info.value)
    assert message.startswith("job job-1: input is not a valid TaskPayload")
    assert "slots: Field required" in message
    assert "mode:" in message
    reference = job["input"]["references"][0]["data_b64"]
    assert reference not in message  # never echo megabytes of base64 into the job's error


async def test_unknown_fields_are_rejected(worker: ModuleType) -> None:
    job = _job(gemini_api_key="sneaky")  # keys come from the worker's env, never the payload
    with pytest.raises(ValueError, match="gemini_api_key: Extra inputs are not permitted"):
        await worker.handler(job)


@pytest.mark.parametrize(
    ("job_input", "expected"),
    [
        (None, "input must be a BananaBatch TaskPayload object, got NoneType"),
        ("a string", "got str"),
        ({"version": 99}, "task contract version 99, this worker speaks version 1"),
    ],
)
async def test_unusable_input_shapes(worker: ModuleType, job_input: Any, expected: str) -> None:
    with pytest.raises(ValueError, match=expected):
        await worker.handler({"id": "j", "input": copy.deepcopy(job_input)})


async def test_gemini_key_comes_from_the_worker_env(
    clean_env: pytest.MonkeyPatch, gemini_fake: FakeGeminiServer
) -> None:
    clean_env.setenv("GEMINI_API_KEY", "worker-own-key")
    clean_env.setenv("BANANABATCH_GEMINI_BASE_URL", gemini_fake.base_url)
    module = load_worker_handler()
    job = _job(provider="gemini", model="gemini-2.5-flash-image")
    result = TaskResult.model_validate(await module.handler(job))
    await module.PROVIDERS.aclose()
    assert [s.status for s in result.slots] == ["succeeded", "succeeded"]
    assert {r.api_key for r in gemini_fake.requests} == {"worker-own-key"}


def test_importing_the_handler_stays_light() -> None:
    """The worker image has no server stack: the handler must not import it (or the SDK)."""
    probe = (
        "import importlib.util, json, sys\n"
        f"spec = importlib.util.spec_from_file_location('handler', {str(WORKER_HANDLER)!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        "heavy = ('sqlalchemy', 'fastapi', 'alembic', 'uvicorn', 'boto3', 'runpod')\n"
        "print(json.dumps(sorted(m for m in heavy if m in sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
