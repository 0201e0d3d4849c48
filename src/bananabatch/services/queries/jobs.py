"""Job views: lists with counts from one GROUP BY, detail, queue positions, ETags."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from bananabatch.db.models import (
    Batch,
    Job,
    JobStatus,
    Output,
    OutputStatus,
    ReviewState,
)
from bananabatch.errors import NotFound, ValidationFailed
from bananabatch.services.queries.failures import summarize
from bananabatch.services.queries.job_activity import gemini_batches, quality_of, remote_activity
from bananabatch.services.queries.paging import check_limit, check_offset, etag_of
from bananabatch.services.queries.poll_state import queue_position
from bananabatch.services.queries.recipe import job_recipe
from bananabatch.services.queries.views import (
    QUEUED_JOB_STATUSES,
    BatchOut,
    JobDetail,
    JobList,
    JobOptionsOut,
    JobSummary,
    StatusCounts,
    TrialOut,
    to_naive_utc,
)
from bananabatch.services.queries.webhooks import job_webhooks


def queue_positions(session: Session) -> dict[str, int]:
    """Rank of every queued/running job: priority first, then age (the scheduler's order
    of preference; jobs of one priority share the executor round-robin)."""
    ids = session.scalars(
        select(Job.id)
        .where(Job.status.in_(QUEUED_JOB_STATUSES))
        .order_by(Job.priority.desc(), Job.created_at, Job.id)
    ).all()
    return {job_id: i + 1 for i, job_id in enumerate(ids)}


def counts_by_job(session: Session, job_ids: Sequence[str]) -> dict[str, StatusCounts]:
    if not job_ids:
        return {}
    rows = session.execute(
        select(Output.job_id, Output.status, func.count())
        .where(Output.job_id.in_(job_ids))
        .group_by(Output.job_id, Output.status)
    ).all()
    pairs: dict[str, list[tuple[str, int]]] = {job_id: [] for job_id in job_ids}
    for job_id, status, n in rows:
        pairs[job_id].append((status, n))
    return {job_id: StatusCounts.from_pairs(p) for job_id, p in pairs.items()}


def summary_fields(job: Job, counts: StatusCounts, position: int | None) -> dict[str, Any]:
    return {
        "id": job.id,
        "mode": job.mode,
        "name": job.name,
        "status": job.status,
        "provider": job.provider,
        "model": job.model,
        "priority": job.priority,
        "total_outputs": job.total_outputs,
        "total_tasks": job.total_tasks,
        "counts": counts,
        "progress": counts.progress,
        "cost_estimate": job.cost_estimate,
        "cost_actual": job.cost_actual,
        "max_cost": job.max_cost,
        "hold_reason": job.hold_reason,
        "interrupted_at": job.interrupted_at,
        "route": job.route or "standard",
        "error": job.error,
        "revision": job.revision,
        "queue_position": position,
        "dataset_id": job.dataset_id,
        "trial": trial_of(job),
        "created_at": job.created_at,
        "updated_at": job.updated_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
    }


def trial_of(job: Job) -> TrialOut | None:
    if job.trial_size is None:
        return None
    continued = job.trial_continued_at is not None
    planned = job.planned_outputs or job.total_outputs
    return TrialOut(
        size=job.trial_size,
        planned_outputs=planned,
        rest_outputs=0 if continued else max(planned - job.total_outputs, 0),
        rest_cost_usd=0.0
        if continued
        else round(max((job.planned_cost or 0.0) - job.cost_estimate, 0.0), 6),
        continued=continued,
    )


def _job_filters(
    status: Sequence[str] | None, mode: str | None, updated_since: datetime | None
) -> list[ColumnElement[bool]]:
    filters: list[ColumnElement[bool]] = []
    if status:
        unknown = sorted(set(status) - {s.value for s in JobStatus})
        if unknown:
            raise ValidationFailed(
                f"Unknown job status {', '.join(unknown)}; "
                f"use one of {', '.join(s.value for s in JobStatus)}."
            )
        filters.append(Job.status.in_(list(status)))
    if mode:
        filters.append(Job.mode == mode)
    if updated_since is not None:
        filters.append(Job.updated_at > to_naive_utc(updated_since))
    return filters


def _job_total(session: Session, filters: list[ColumnElement[bool]]) -> int:
    return session.scalar(select(func.count()).select_from(Job).where(*filters)) or 0


def _job_page(filters: list[ColumnElement[bool]], limit: int, offset: int) -> Select[Job]:
    """One page of the job list, newest first: the list and its ETag read the same rows."""
    return (
        select(Job)
        .where(*filters)
        .order_by(Job.created_at.desc(), Job.id.desc())
        .limit(limit)
        .offset(offset)
    )


def job_list_etag(
    session: Session,
    *,
    status: Sequence[str] | None = None,
    mode: str | None = None,
    limit: int = 50,
    offset: int = 0,
    updated_since: datetime | None = None,
) -> str:
    """Changes whenever any job on the page (or the page's membership) changes."""
    check_limit(limit)
    check_offset(offset)
    filters = _job_filters(status, mode, updated_since)
    total = _job_total(session, filters)
    page = session.execute(
        _job_page(filters, limit, offset).with_only_columns(Job.id, Job.revision)
    ).all()
    positions = queue_positions(session)
    return etag_of(
        "jobs",
        tuple(status or ()),
        mode,
        limit,
        offset,
        updated_since,
        total,
        tuple((i, r, positions.get(i)) for i, r in page),
    )


def list_jobs(
    session: Session,
    *,
    status: Sequence[str] | None = None,
    mode: str | None = None,
    limit: int = 50,
    offset: int = 0,
    updated_since: datetime | None = None,
) -> JobList:
    """Newest first. Four queries whatever the page size."""
    check_limit(limit)
    check_offset(offset)
    now = datetime.now(UTC)
    filters = _job_filters(status, mode, updated_since)
    total = _job_total(session, filters)
    jobs = session.scalars(_job_page(filters, limit, offset)).all()
    counts = counts_by_job(session, [j.id for j in jobs])
    positions = queue_positions(session)
    items = [
        JobSummary(**summary_fields(j, counts.get(j.id, StatusCounts()), positions.get(j.id)))
        for j in jobs
    ]
    return JobList(items=items, total=total, server_time=now)


def get_job(session: Session, job_id: str) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"Job {job_id} does not exist.", details={"job_id": job_id})
    return job


def job_detail(session: Session, job_id: str) -> JobDetail:
    """The job with counts by status for it and for each batch (two GROUP BY queries)."""
    job = get_job(session, job_id)
    # error kinds ride along in the same GROUP BY: the failures summary costs no query
    grouped = session.execute(
        select(
            Output.batch_id,
            Output.status,
            Output.review,
            Output.error_kind,
            func.count(),
            func.min(Output.error),
        )
        .where(Output.job_id == job_id)
        .group_by(Output.batch_id, Output.status, Output.review, Output.error_kind)
    ).all()
    rows = [(b, st, n) for b, st, _, _, n, _ in grouped]
    reviews = {r.value: 0 for r in ReviewState}
    for _, st, review, _, n, _ in grouped:
        if st == OutputStatus.succeeded:
            reviews[review] = reviews.get(review, 0) + int(n)
    failed = [
        (kind, int(n), err) for _, st, _, kind, n, err in grouped if st == OutputStatus.failed
    ]
    by_batch: dict[str, list[tuple[str, int]]] = {}
    for batch_id, status, n in rows:
        by_batch.setdefault(batch_id, []).append((status, n))
    job_counts = StatusCounts.from_pairs((s, n) for _, s, n in rows)
    batches = session.scalars(
        select(Batch).where(Batch.job_id == job_id).order_by(Batch.position)
    ).all()
    batch_out = []
    for b in batches:
        counts = StatusCounts.from_pairs(by_batch.get(b.id, []))
        batch_out.append(
            BatchOut(
                id=b.id,
                position=b.position,
                name=b.name,
                slug=b.slug,
                prompt=b.prompt,
                count=b.count,
                counts=counts,
                progress=counts.progress,
            )
        )
    options = JobOptionsOut.model_validate(
        {k: v for k, v in (job.options or {}).items() if k in JobOptionsOut.model_fields}
    )
    return JobDetail(
        **summary_fields(
            job,
            job_counts,
            queue_position(session, job.id, job.status, job.priority, job.created_at),
        ),
        quality=quality_of(session, job, reviews),
        seed=job.seed,
        options=options,
        spec=dict(job.spec or {}),
        reference_asset_ids=[str(a) for a in job.reference_asset_ids or []],
        include_originals=job.include_originals,
        batches=batch_out,
        remote=remote_activity(session, job_id),
        gemini_batches=gemini_batches(session, job_id) if job.route == "batch" else [],
        webhook_url=job.webhook_url,
        webhooks=job_webhooks(session, job_id),
        recipe=job_recipe(job),
        failures=summarize(failed),
    )
