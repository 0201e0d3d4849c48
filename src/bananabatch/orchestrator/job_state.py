"""A job's status, recomputed from its outputs whenever a settle round touched it."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bananabatch.db.models import Job, JobStatus, Output, OutputStatus, utcnow


def refresh_job(s: Session, job: Job) -> None:
    """Recompute a job's status from its outputs and bump its revision."""
    counts = dict(
        s.execute(
            select(Output.status, func.count())
            .where(Output.job_id == job.id)
            .group_by(Output.status)
        ).all()
    )
    pending = counts.get(OutputStatus.pending, 0)
    job.revision = (job.revision or 0) + 1
    if job.status == JobStatus.cancelled or pending:
        return
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
