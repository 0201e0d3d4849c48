"""What pollers' ETags are made of, read with a few indexed lookups: a job's revision,
its rank in the queue and the last change number of its outputs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from bananabatch.db.models import Job, Output
from bananabatch.errors import NotFound
from bananabatch.services.queries.paging import etag_of
from bananabatch.services.queries.views import QUEUED_JOB_STATUSES


def queue_position(
    session: Session, job_id: str, status: str, priority: int, created_at: datetime
) -> int | None:
    """The job's rank among queued and running jobs (1 runs first); None once it left."""
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
    position = queue_position(session, row.id, row.status, row.priority, row.created_at)
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
