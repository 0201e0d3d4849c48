"""RunPod Serverless entry point: one RunPod job is one BananaBatch task.

RunPod calls `handler({"id": ..., "input": <TaskPayload JSON>})`; the same worker
pipeline as the in-process executor runs it and the `TaskResult` comes back as the
job's output. Kept tiny and import-light (no SQLAlchemy, FastAPI or Alembic), so the
worker image carries only what the pipeline needs. Secrets (GEMINI_API_KEY) come from
the worker's own environment, never from the payload.
"""

from __future__ import annotations

import logging
import os
import socket
from typing import Any

from pydantic import ValidationError

from bananabatch.config import Settings
from bananabatch.contracts import CONTRACT_VERSION, TaskPayload
from bananabatch.providers.pool import ProviderPool
from bananabatch.worker.pipeline import WorkerOptions, run_task

log = logging.getLogger("bananabatch.worker.runpod")

DEFAULT_JOBS_PER_WORKER = 4


def _positive_int_env(name: str, default: int) -> int:
    """An env var that must be a positive integer; a typo stops the worker at start-up."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a positive integer, got {raw!r}") from None
    if value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value}")
    return value


SETTINGS = Settings()
PROVIDERS = ProviderPool(SETTINGS)
"""One pool per worker process: a provider (and its HTTP client) serves every job."""
OPTIONS = WorkerOptions(
    concurrency=SETTINGS.worker_concurrency,  # env BANANABATCH_WORKER_CONCURRENCY
    worker_name="runpod:" + (os.environ.get("RUNPOD_POD_ID") or socket.gethostname()),
)
JOBS_PER_WORKER = _positive_int_env("BANANABATCH_JOBS_PER_WORKER", DEFAULT_JOBS_PER_WORKER)


def _describe(exc: ValidationError) -> str:
    """Field paths and reasons only: the input may carry megabytes of base64."""
    parts = []
    for error in exc.errors(include_url=False, include_input=False)[:10]:
        where = ".".join(str(p) for p in error["loc"]) or "input"
        parts.append(f"{where}: {error['msg']}")
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def parse_payload(job: dict[str, Any]) -> TaskPayload:
    """The job's input as a TaskPayload, or a ValueError that says what is wrong."""
    job_id = job.get("id", "?")
    raw = job.get("input")
    if not isinstance(raw, dict):
        raise ValueError(
            f"job {job_id}: input must be a BananaBatch TaskPayload object, "
            f"got {type(raw).__name__}"
        )
    version = raw.get("version", CONTRACT_VERSION)
    if version != CONTRACT_VERSION:
        raise ValueError(
            f"job {job_id}: task contract version {version!r}, this worker speaks "
            f"version {CONTRACT_VERSION}; deploy a matching worker image"
        )
    try:
        return TaskPayload.model_validate(raw)
    except ValidationError as exc:
        raise ValueError(
            f"job {job_id}: input is not a valid TaskPayload: {_describe(exc)}"
        ) from None


async def handler(job: dict[str, Any]) -> dict[str, Any]:
    """Run one task. Slot failures are in the result; only unusable input raises."""
    payload = parse_payload(job)
    log.info(
        "job %s: task %s, %d slot(s), provider %s",
        job.get("id"),
        payload.task_id,
        len(payload.slots),
        payload.provider,
    )
    result = await run_task(payload, PROVIDERS, OPTIONS)
    succeeded = sum(1 for s in result.slots if s.status == "succeeded")
    log.info("job %s: %d/%d slot(s) succeeded", job.get("id"), succeeded, len(result.slots))
    return result.model_dump(mode="json")


def concurrency_modifier(current: int) -> int:
    """Jobs one worker runs at once: they wait on the provider's network, not the CPU."""
    return JOBS_PER_WORKER


if __name__ == "__main__":
    import runpod  # only here: the SDK pulls in FastAPI and friends

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    runpod.serverless.start({"handler": handler, "concurrency_modifier": concurrency_modifier})
