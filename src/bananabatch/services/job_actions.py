"""The user's actions on a job that exists: cancel, pause, resume, budget, priority,
retrying its failed outputs. Shared by the HTTP API and the CLI; each commits its
own change and bumps the job's revision so polling pages see it."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bananabatch.db.models import (
    TERMINAL_JOB_STATUSES,
    Job,
    JobStatus,
    Output,
    OutputStatus,
    Task,
    TaskStatus,
    utcnow,
)
from bananabatch.db.session import releases_write_lock, take_write_lock
from bananabatch.errors import Conflict, NotFound, ValidationFailed
from bananabatch.orchestrator.budget import JOB_CAP_PREFIX


def get_job(session: Session, job_id: str) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"Job {job_id} does not exist.")
    return job


def job_for_update(session: Session, job_id: str) -> Job:
    """The job, read under the write lock its change will need: an orchestrator round
    cannot commit between this read and the action's commit, so the action never
    decides on a stale status nor writes over the round's revision bump."""
    take_write_lock(session)
    job = session.get(Job, job_id, with_for_update=True, populate_existing=True)
    if job is None:
        raise NotFound(f"Job {job_id} does not exist.", details={"job_id": job_id})
    return job


def _touch(job: Job) -> None:
    job.revision = (job.revision or 0) + 1


@releases_write_lock
def cancel_job(session: Session, job_id: str) -> Job:
    """Cancel what has not started; in-flight work is cancelled by the orchestrator,
    and any image it still returns is kept (it has been paid for)."""
    job = job_for_update(session, job_id)
    if job.status in TERMINAL_JOB_STATUSES:
        raise Conflict(f"Job {job.name!r} is already {job.status}; there is nothing to cancel.")
    job.status = JobStatus.cancelled
    job.finished_at = utcnow()
    _touch(job)
    queued_tasks = select(Task.id).where(Task.job_id == job_id, Task.status == TaskStatus.queued)
    session.execute(
        update(Output)
        .where(Output.task_id.in_(queued_tasks), Output.status == OutputStatus.pending)
        .values(status=OutputStatus.cancelled, finished_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Task)
        .where(Task.job_id == job_id, Task.status == TaskStatus.queued)
        .values(status=TaskStatus.cancelled)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return job


@releases_write_lock
def pause_job(session: Session, job_id: str) -> Job:
    job = job_for_update(session, job_id)
    if job.status not in (JobStatus.queued, JobStatus.running):
        raise Conflict(f"Only queued or running jobs can be paused; {job.name!r} is {job.status}.")
    job.status = JobStatus.paused
    _touch(job)
    session.commit()
    return job


@releases_write_lock
def set_budget(session: Session, job_id: str, max_cost: float | None) -> Job:
    """Change a job's cap; a job held at its cap goes on when the new cap allows it (the
    orchestrator holds it again at once if the next run still does not fit)."""
    job = job_for_update(session, job_id)
    if job.status in TERMINAL_JOB_STATUSES:
        raise Conflict(f"Job {job.name!r} is already {job.status}; its budget no longer matters.")
    job.max_cost = max_cost
    if job.status == JobStatus.paused and (job.hold_reason or "").startswith(JOB_CAP_PREFIX):
        job.status = JobStatus.running if job.started_at else JobStatus.queued
        job.hold_reason = None
    _touch(job)
    session.commit()
    return job


@releases_write_lock
def resume_job(session: Session, job_id: str) -> Job:
    job = job_for_update(session, job_id)
    if job.status != JobStatus.paused:
        raise Conflict(f"Only paused jobs can be resumed; {job.name!r} is {job.status}.")
    job.status = JobStatus.running if job.started_at else JobStatus.queued
    job.hold_reason = None
    job.interrupted_at = None
    _touch(job)
    session.commit()
    return job


@releases_write_lock
def retry_failed(session: Session, job_id: str, output_ids: list[str] | None = None) -> int:
    """Re-queue failed outputs (and blocked ones when named explicitly); returns how many.

    A retry starts a fresh attempt budget. Their tasks go back to the queue and
    carry only the outputs that are pending, so nothing that succeeded is paid again.
    """
    job = job_for_update(session, job_id)
    if job.status == JobStatus.cancelled:
        raise Conflict("This job was cancelled; create a new job instead of retrying it.")
    query = select(Output).where(Output.job_id == job_id)
    if output_ids:
        query = query.where(
            Output.id.in_(output_ids),
            Output.status.in_([OutputStatus.failed, OutputStatus.blocked]),
        )
    else:
        query = query.where(Output.status == OutputStatus.failed)
    outputs = session.scalars(query).all()
    if not outputs:
        return 0
    for o in outputs:
        o.status = OutputStatus.pending
        o.attempt = o.no_image_answers = 0
        o.error = o.error_kind = None
        o.finished_at = None
    task_ids = {o.task_id for o in outputs}
    session.execute(
        update(Task)
        .where(Task.id.in_(task_ids), Task.status != TaskStatus.dispatched)
        .values(status=TaskStatus.queued, not_before=None, finished_at=None)
        .execution_options(synchronize_session=False)
    )
    if job.status in TERMINAL_JOB_STATUSES or job.status == JobStatus.paused:
        job.status = JobStatus.running if job.started_at else JobStatus.queued
    job.finished_at = None
    job.error = None
    _touch(job)
    session.commit()
    return len(outputs)


@releases_write_lock
def set_priority(session: Session, job_id: str, priority: int) -> Job:
    if not -100 <= priority <= 100:
        raise ValidationFailed("Priority must be between -100 and 100 (higher runs first).")
    job = job_for_update(session, job_id)
    job.priority = priority
    _touch(job)
    session.commit()
    return job


def job_counts(session: Session, job_id: str) -> dict[str, int]:
    rows = session.execute(
        select(Output.status, func.count()).where(Output.job_id == job_id).group_by(Output.status)
    ).all()
    counts = {s.value: 0 for s in OutputStatus}
    for status, n in rows:
        counts[status] = n
    counts["total"] = sum(n for _, n in rows)
    return counts
