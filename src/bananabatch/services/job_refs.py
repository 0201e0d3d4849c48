"""Finding a job from what a user typed (a whole id or a unique prefix of one), and
marking a job whose CLI run was interrupted. Shared by the API and the CLI."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bananabatch.db.models import Job, JobStatus, utcnow
from bananabatch.db.session import releases_write_lock, take_write_lock
from bananabatch.errors import AmbiguousId, NotFound

MIN_PREFIX_CHARS = 4
"""Shorter prefixes are refused rather than guessed: 4 hex characters tell about
65,000 ids apart, enough for any one installation's job list."""
_MAX_CANDIDATES = 10


def resolve_job_id(session: Session, ref: str) -> str:
    """The id of the job `ref` names: its whole id, or a prefix matching exactly one job.
    An ambiguous prefix raises AmbiguousId listing the candidates (never a guess)."""
    if session.get(Job, ref) is not None:
        return ref
    if len(ref) < MIN_PREFIX_CHARS:
        raise NotFound(
            f"Job {ref} does not exist (an id prefix needs at least {MIN_PREFIX_CHARS} characters)."
        )
    ids = list(
        session.scalars(
            select(Job.id)
            .where(Job.id.startswith(ref, autoescape=True))
            .order_by(Job.id)
            .limit(_MAX_CANDIDATES + 1)
        )
    )
    if not ids:
        raise NotFound(f"Job {ref} does not exist.", details={"job_id": ref})
    if len(ids) > 1:
        shown = ids[:_MAX_CANDIDATES]
        more = " and more" if len(ids) > _MAX_CANDIDATES else ""
        raise AmbiguousId(
            f"The id prefix {ref} matches {len(shown)}{more} jobs: {', '.join(shown)}{more}. "
            "Type more characters of the id.",
            details={"candidates": shown},
        )
    return ids[0]


@releases_write_lock
def mark_interrupted(session: Session, job_id: str) -> bool:
    """Pause a job whose embedded run was stopped (Ctrl-C, SIGTERM), so it does not claim
    to run and nothing else picks it up until it is resumed. Returns False when the job
    had already ended (or was paused) and is left as it is."""
    take_write_lock(session)  # the status read here is the one the write replaces
    job = session.get(Job, job_id, with_for_update=True, populate_existing=True)
    if job is None or job.status not in (JobStatus.queued, JobStatus.running):
        return False
    job.status = JobStatus.paused
    job.interrupted_at = utcnow()
    job.revision = (job.revision or 0) + 1
    session.commit()
    return True
