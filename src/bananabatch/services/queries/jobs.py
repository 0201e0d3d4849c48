"""Job views: lists with counts from one GROUP BY, detail, queue positions, ETags."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select
from sqlalchemy.orm import Session

from bananabatch.db.models import (
    Batch,
    GeminiBatch,
    GeminiBatchLine,
    Job,
    JobStatus,
    Output,
    OutputStatus,
    ReviewState,
    Task,
    TaskStatus,
    utcnow,
)
from bananabatch.errors import NotFound, ValidationFailed
from bananabatch.quality.service import flag_summary
from bananabatch.services.queries.failures import summarize
from bananabatch.services.queries.paging import check_limit, check_offset, etag_of
from bananabatch.services.queries.recipe import job_recipe
from bananabatch.services.queries.views import (
    BATCH_TARGET,
    QUEUED_JOB_STATUSES,
    BatchOut,
    GeminiBatchOut,
    JobDetail,
    JobList,
    JobOptionsOut,
    JobSummary,
    QualityOut,
    RemoteActivity,
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


def _queue_position(
    session: Session, job_id: str, status: str, priority: int, created_at: datetime
) -> int | None:
    if status not in QUEUED_JOB_STATUSES:
        return None
    ahead = session.scalar(
        select(func.count())
        .select_from(Job)
        .where(
            Job.status.in_(QUEUED_JOB_STATUSES),
            or_(
                Job.priority > priority,
                and_(
                    Job.priority == priority,
                    or_(
                        Job.created_at < created_at,
                        and_(Job.created_at == created_at, Job.id < job_id),
                    ),
                ),
            ),
        )
    )
    return (ahead or 0) + 1


def get_job(session: Session, job_id: str) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"Job {job_id} does not exist.", details={"job_id": job_id})
    return job


@dataclass(frozen=True)
class PollState:
    """What a poller's ETags are made of: the job's revision (bumped on every status or
    progress change), its queue rank, and the last change number of its outputs."""

    job_id: str
    revision: int
    position: int | None
    change_seq: int


def poll_state(session: Session, job_id: str) -> PollState:
    """Two or three indexed lookups; the pollers' fast path caches the answer until the
    database changes."""
    row = session.execute(
        select(Job.id, Job.revision, Job.status, Job.priority, Job.created_at).where(
            Job.id == job_id
        )
    ).first()
    if row is None:
        raise NotFound(f"Job {job_id} does not exist.", details={"job_id": job_id})
    position = _queue_position(session, row.id, row.status, row.priority, row.created_at)
    return PollState(row.id, row.revision, position, last_change_seq(session, job_id))


def last_change_seq(session: Session, job_id: str) -> int:
    return int(
        session.scalar(
            select(func.coalesce(func.max(Output.change_seq), 0)).where(Output.job_id == job_id)
        )
        or 0
    )


def job_etag_of(state: PollState) -> str:
    return etag_of("job", state.job_id, state.revision, state.position)


def outputs_etag_of(state: PollState, query: str) -> str:
    """One output page's ETag: the job's revision, its outputs' last change number and
    the page's own query (a `since` poll is its own page)."""
    return etag_of("outputs", state.job_id, state.revision, state.change_seq, query)


def job_etag(session: Session, job_id: str) -> str:
    return job_etag_of(poll_state(session, job_id))


def outputs_etag(session: Session, job_id: str, query: str) -> str:
    return outputs_etag_of(poll_state(session, job_id), query)


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
            _queue_position(session, job.id, job.status, job.priority, job.created_at),
        ),
        quality=_quality(session, job, reviews),
        seed=job.seed,
        options=options,
        spec=dict(job.spec or {}),
        reference_asset_ids=[str(a) for a in job.reference_asset_ids or []],
        include_originals=job.include_originals,
        batches=batch_out,
        remote=_remote_activity(session, job_id),
        gemini_batches=_gemini_batches(session, job_id) if job.route == "batch" else [],
        webhook_url=job.webhook_url,
        webhooks=job_webhooks(session, job_id),
        recipe=job_recipe(job),
        failures=summarize(failed),
    )


def _quality(session: Session, job: Job, reviews: dict[str, int]) -> QualityOut:
    spec = job.spec or {}
    flags, flagged = flag_summary(session, job.id)
    return QualityOut(
        flags=flags,
        flagged=flagged,
        review=reviews,
        label_format=spec.get("label_format"),
        labelled=bool(spec.get("labelled")),
        splits=spec.get("splits"),
        classes=[str(c) for c in spec.get("classes") or []],
    )


def _remote_activity(session: Session, job_id: str) -> RemoteActivity:
    """One aggregate over the job's tasks (detail pages are polled)."""
    out = Task.status == TaskStatus.dispatched
    queued = and_(out, Task.remote_state == "queued")
    running = and_(out, Task.remote_state == "running")
    n_queued, n_running, since, delay, execution = session.execute(
        select(
            func.coalesce(func.sum(case((queued, 1), else_=0)), 0),
            func.coalesce(func.sum(case((running, 1), else_=0)), 0),
            func.min(case((queued, Task.dispatched_at))),
            func.avg(Task.delay_ms),
            func.avg(Task.execution_ms),
        ).where(Task.job_id == job_id)
    ).one()
    return RemoteActivity(
        queued=int(n_queued),
        running=int(n_running),
        oldest_queued_since=since,
        avg_delay_ms=round(delay) if delay is not None else None,
        avg_execution_ms=round(execution) if execution is not None else None,
    )


def _gemini_batches(session: Session, job_id: str) -> list[GeminiBatchOut]:
    """Where each of a batch job's Gemini batches stands; one waiting at Google past the
    Batch API's 24 h target is flagged overdue rather than waited on in silence."""
    batches = list(
        session.scalars(
            select(GeminiBatch).where(GeminiBatch.job_id == job_id).order_by(GeminiBatch.created_at)
        )
    )
    # read: marked done, or (the mark waits for the executor's next poll) a line of a
    # succeeded batch whose output is no longer pending
    succeeded = [g.id for g in batches if g.state == "succeeded"]
    read = dict(
        session.execute(
            select(GeminiBatchLine.batch_id, func.count())
            .join(Output, Output.id == GeminiBatchLine.output_id)
            .where(
                GeminiBatchLine.batch_id.in_([g.id for g in batches]),
                or_(
                    GeminiBatchLine.done.is_(True),
                    and_(
                        GeminiBatchLine.batch_id.in_(succeeded),
                        Output.status != OutputStatus.pending,
                    ),
                ),
            )
            .group_by(GeminiBatchLine.batch_id)
        ).all()
    )
    now = utcnow()
    return [
        GeminiBatchOut(
            display_name=g.display_name,
            state=g.state,
            lines=g.lines,
            lines_read=int(read.get(g.id, 0)),
            submitted_at=g.submitted_at,
            updated_at=g.updated_at,
            finished_at=g.finished_at,
            download_attempts=g.download_attempts,
            error=g.error,
            overdue=g.state in ("pending", "running")
            and g.submitted_at is not None
            and now - g.submitted_at > BATCH_TARGET,
        )
        for g in batches
    ]
