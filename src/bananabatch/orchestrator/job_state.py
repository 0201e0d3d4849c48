"""A job's status, recomputed from its outputs whenever a settle round touched it."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bananabatch.db.models import Job, JobStatus, Output, OutputStatus, utcnow


def refresh_job(s: Session, job: Job) -> None:
    """Recompute a job's status from its outputs and bump its revision.

    While any output is pending the status stays, so one indexed row answers; the
    whole job is counted only when nothing is left (counting every round took 17 ms
    per round on a 100,000-output job, under the write lock)."""
    job.revision = (job.revision or 0) + 1
    if job.status == JobStatus.cancelled or _any_pending(s, job.id):
        return
    counts = dict(
        s.execute(
            select(Output.status, func.count())
            .where(Output.job_id == job.id)
            .group_by(Output.status)
        ).all()
    )
    succeeded = counts.get(OutputStatus.succeeded, 0)
    failed = counts.get(OutputStatus.failed, 0) + counts.get(OutputStatus.blocked, 0)
    if failed == 0:
        job.status = JobStatus.completed
    elif succeeded == 0:
        job.status = JobStatus.failed
        job.error = "no output succeeded; see each output's error"
    else:
        job.status = JobStatus.completed_with_errors
    job.finished_at = utcnow()


def _any_pending(s: Session, job_id: str) -> bool:
    probe = select(Output.id).where(Output.job_id == job_id, Output.status == OutputStatus.pending)
    return s.scalar(probe.limit(1)) is not None
