"""Changing a job and retrying its failures; creating one is in `services/job_requests.py`."""

from __future__ import annotations

from pydantic import BaseModel, Field

from bananabatch.api.schemas.request_body import RequestBody
from bananabatch.services.job_requests import Id
from bananabatch.services.queries import JobDetail


class JobPatch(RequestBody):
    priority: int = Field(ge=-100, le=100, description="Higher runs first.")


class JobCreated(JobDetail):
    warnings: list[str] = Field(
        description="The job was created, but: a deprecated or unknown model, a key that "
        "could not be checked with Google.",
    )


class RetryIn(RequestBody):
    output_ids: list[Id] | None = Field(
        default=None,
        max_length=10_000,
        description="Only these outputs (failed or blocked); all failed outputs when omitted.",
    )


class RetryOut(BaseModel):
    requeued: int
    permanent: int = Field(
        description="Of those re-queued, outputs whose error is permanent (an invalid "
        "request, an internal error, a safety block): they will fail again."
    )
    message: str | None = Field(description="Which failures will fail again, and why.")
    job: JobDetail
