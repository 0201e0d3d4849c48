"""The parts of a job's detail beyond its counts: quality flags and reviews, remote
workers' activity, and the Gemini batches of a Batch API job."""

from __future__ import annotations

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from bananabatch.db.models import (
    GeminiBatch,
    GeminiBatchLine,
    Job,
    Output,
    OutputStatus,
    Task,
    TaskStatus,
    utcnow,
)
from bananabatch.quality.service import flag_summary
from bananabatch.services.queries.views import (
    BATCH_TARGET,
    GeminiBatchOut,
    QualityOut,
    RemoteActivity,
)


def quality_of(session: Session, job: Job, reviews: dict[str, int]) -> QualityOut:
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


def remote_activity(session: Session, job_id: str) -> RemoteActivity:
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


def gemini_batches(session: Session, job_id: str) -> list[GeminiBatchOut]:
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
