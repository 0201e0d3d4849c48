"""The review pass (shared by the API and the CLI): accept or reject outputs, one by
one, in bulk or by quality flag, and generate the rejected slots again.

Regenerating is priced first (`regenerate_estimate`) and only then started
(`regenerate_rejected`, which refuses when the rejected set changed since it was
priced). Only those slots are asked again: their tasks go back to the queue and
carry only their pending outputs, each with a fresh seed (the classic provider
is deterministic: the old seed would give the old image back).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from pydantic import BaseModel, Field
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bananabatch.catalog import Catalog
from bananabatch.db.models import (
    GeminiBatchLine,
    Job,
    JobStatus,
    Output,
    OutputFlag,
    OutputStatus,
    ReviewState,
    Task,
    TaskStatus,
    utcnow,
)
from bananabatch.db.session import releases_write_lock
from bananabatch.domain.pricing import output_cost
from bananabatch.domain.seeds import derive_seed
from bananabatch.errors import Conflict, NotFound, ValidationFailed
from bananabatch.quality.flags import Flag
from bananabatch.quality.service import clear_flags, review_counts
from bananabatch.services.job_actions import job_for_update
from bananabatch.services.queries import JobDetail
from bananabatch.storage.base import Storage
from bananabatch.storage.keys import output_thumb_key

log = logging.getLogger(__name__)

MAX_IDS = 100_000


class ReviewIn(BaseModel):
    """Which outputs to mark, and how. Only outputs with an image are reviewed."""

    decision: ReviewState
    output_ids: list[str] | None = Field(
        default=None, max_length=MAX_IDS, description="These outputs (of this job)."
    )
    flags: list[Flag] | None = Field(
        default=None,
        description="Outputs carrying any of these flags; [] means any flag at all. "
        "Combined with output_ids when both are given.",
    )
    all_outputs: bool = Field(
        default=False, description="Every output with an image (with only_unreviewed: the rest)."
    )
    only_unreviewed: bool = Field(
        default=False, description="Leave outputs already accepted or rejected as they are."
    )


class ReviewCounts(BaseModel):
    unreviewed: int = 0
    accepted: int = 0
    rejected: int = 0


class ReviewOut(BaseModel):
    updated: int
    review: ReviewCounts


class RegenerateEstimateOut(BaseModel):
    outputs: int = Field(description="Rejected outputs that would be generated again.")
    price_per_image: float
    cost_usd: float


class RegenerateIn(BaseModel):
    expected_outputs: int | None = Field(
        default=None,
        ge=0,
        description="The count the user was shown with the price; refused when it changed.",
    )


class RegenerateOut(BaseModel):
    requeued: int
    cost_usd: float = Field(description="What generating them again is expected to cost.")
    job: JobDetail


@dataclass(frozen=True)
class Regenerated:
    outputs: int
    cost_usd: float


def _job(session: Session, job_id: str) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"Job {job_id} does not exist.", details={"job_id": job_id})
    return job


def _touch(job: Job) -> None:
    job.revision = (job.revision or 0) + 1


@releases_write_lock
def review_outputs(session: Session, job_id: str, body: ReviewIn) -> ReviewOut:
    """Mark outputs accepted, rejected or unreviewed; returns how many changed."""
    if body.output_ids is None and body.flags is None and not body.all_outputs:
        raise ValidationFailed(
            "Say which outputs to review: output_ids, flags (or both), or all_outputs."
        )
    job = job_for_update(session, job_id)
    query = select(Output).where(
        Output.job_id == job_id,
        Output.status == OutputStatus.succeeded,
        Output.review != body.decision,
    )
    if body.output_ids is not None:
        wanted = set(body.output_ids)
        known = set(
            session.scalars(select(Output.id).where(Output.job_id == job_id, Output.id.in_(wanted)))
        )
        if wanted - known:
            foreign = sorted(wanted - known)
            raise ValidationFailed(
                f"{len(foreign)} output(s) are not part of job {job_id}: {', '.join(foreign[:5])}",
                details={"unknown_output_ids": foreign[:100]},
            )
        query = query.where(Output.id.in_(wanted))
    if body.flags is not None:
        flagged = select(OutputFlag.output_id).where(OutputFlag.job_id == job_id)
        if body.flags:
            flagged = flagged.where(OutputFlag.flag.in_([f.value for f in body.flags]))
        query = query.where(Output.id.in_(flagged))
    if body.only_unreviewed:
        query = query.where(Output.review == ReviewState.unreviewed)
    now = utcnow()
    changed = 0
    for output in session.scalars(query):
        output.review = body.decision
        output.reviewed_at = None if body.decision == ReviewState.unreviewed else now
        changed += 1
    if changed:
        _touch(job)
    session.commit()
    log.info("job %s: %d output(s) marked %s", job_id, changed, body.decision.value)
    return ReviewOut(updated=changed, review=ReviewCounts(**review_counts(session, job_id)))


def _rejected(session: Session, job_id: str) -> list[Output]:
    return list(
        session.scalars(
            select(Output).where(
                Output.job_id == job_id,
                Output.status == OutputStatus.succeeded,
                Output.review == ReviewState.rejected,
            )
        )
    )


def _price(catalog: Catalog, job: Job) -> float:
    model, _ = catalog.resolve(job.model)
    return output_cost(model, (job.options or {}).get("image_size"))


def regenerate_estimate(session: Session, catalog: Catalog, job_id: str) -> RegenerateEstimateOut:
    job = _job(session, job_id)
    count = len(_rejected(session, job_id))
    price = _price(catalog, job)
    return RegenerateEstimateOut(
        outputs=count, price_per_image=price, cost_usd=round(count * price, 6)
    )


@releases_write_lock
def regenerate_rejected(
    session: Session,
    storage: Storage,
    catalog: Catalog,
    job_id: str,
    expected_outputs: int | None = None,
) -> Regenerated:
    """Queue the rejected outputs again (a new seed, a fresh attempt budget). Their old
    images are deleted first (nothing is queued when that fails): a remote worker's
    upload at the slot's key must not be taken for the new result."""
    job = job_for_update(session, job_id)
    if job.status == JobStatus.cancelled:
        raise Conflict("This job was cancelled; create a new job instead.")
    outputs = _rejected(session, job_id)
    if expected_outputs is not None and expected_outputs != len(outputs):
        raise Conflict(
            f"{len(outputs)} outputs are rejected now, not {expected_outputs} as priced; "
            "look at the price again.",
            details={"rejected": len(outputs)},
        )
    if not outputs:
        return Regenerated(outputs=0, cost_usd=0.0)
    price = _price(catalog, job)
    # one call under the lock: a request per key on S3 kept the orchestrator waiting
    storage.discard(
        key for o in outputs for key in (o.storage_key, output_thumb_key(job.id, o.id)) if key
    )
    clear_flags(session, [o.id for o in outputs])
    for o in outputs:
        o.regenerations = (o.regenerations or 0) + 1
        o.seed = derive_seed(o.seed, "regenerate", o.regenerations)
        o.status = OutputStatus.pending
        o.review = ReviewState.unreviewed
        o.reviewed_at = None
        o.attempt = 0
        o.error = o.error_kind = None
        o.storage_key = o.mime_type = None
        o.width = o.height = None
        o.labels = o.transform = o.quality = None
        o.finished_at = None
    # a Gemini batch line of the old seed is used up: the new seed needs a new line
    session.execute(
        update(GeminiBatchLine)
        .where(GeminiBatchLine.output_id.in_([o.id for o in outputs]))
        .values(done=True)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Task)
        .where(Task.id.in_({o.task_id for o in outputs}), Task.status != TaskStatus.dispatched)
        .values(status=TaskStatus.queued, not_before=None, finished_at=None)
        .execution_options(synchronize_session=False)
    )
    cost = round(len(outputs) * price, 6)
    job.cost_estimate = round((job.cost_estimate or 0.0) + cost, 6)
    if job.status in (JobStatus.completed, JobStatus.completed_with_errors, JobStatus.failed):
        job.status = JobStatus.running if job.started_at else JobStatus.queued
    job.finished_at = None
    job.error = None
    _touch(job)
    session.commit()
    log.info("job %s: %d rejected output(s) queued again (%.4f USD)", job_id, len(outputs), cost)
    return Regenerated(outputs=len(outputs), cost_usd=cost)
