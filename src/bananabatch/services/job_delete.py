"""Deleting a job with its files: its outputs and their thumbnails (everything under
`outputs/<job>/`), plus the reference images only it used. Exports are streamed,
never stored, so there is nothing else on disk. The spend ledger keeps what was paid
(its entries stay, with no job), so deleting never lowers what the budgets count."""

from __future__ import annotations

import logging

from pydantic import BaseModel, Field
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from bananabatch.db.models import TERMINAL_JOB_STATUSES, Job, JobStatus, Task, TaskStatus
from bananabatch.db.session import releases_write_lock
from bananabatch.errors import Conflict, NotFound
from bananabatch.services.blobs import free_unreferenced
from bananabatch.services.job_actions import job_for_update
from bananabatch.storage.base import Storage

log = logging.getLogger(__name__)


class JobStorageOut(BaseModel):
    """Shown in the delete confirmation: what the job holds in storage, and whether it
    can be deleted now (with the reason when not)."""

    id: str
    name: str
    status: JobStatus
    files: int = Field(description="Stored objects: output images and their thumbnails.")
    bytes: int = Field(description="Their size in bytes (what deleting the job frees).")
    deletable: bool
    reason: str | None = Field(description="Why it cannot be deleted now, and what to do.")


class JobDeleted(BaseModel):
    id: str
    name: str
    freed_files: int
    freed_bytes: int


def outputs_prefix(job_id: str) -> str:
    return f"outputs/{job_id}"


def _get(session: Session, job_id: str) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"Job {job_id} does not exist.", details={"job_id": job_id})
    return job


def _refusal(session: Session, job: Job) -> str | None:
    if job.status not in TERMINAL_JOB_STATUSES:
        return (
            f"Job {job.id} is {job.status}: cancel it first (the Cancel button, or "
            f"`bananabatch jobs cancel {job.id}`), then delete it."
        )
    in_flight = session.scalar(
        select(func.count()).where(Task.job_id == job.id, Task.status == TaskStatus.dispatched)
    )
    if in_flight:
        return (
            f"Job {job.id} is cancelled but {in_flight} task(s) are still finishing (their "
            "images are paid for and being saved); try again in a moment."
        )
    return None


def job_storage(session: Session, storage: Storage, job_id: str) -> JobStorageOut:
    job = _get(session, job_id)
    used = storage.usage(outputs_prefix(job.id))
    reason = _refusal(session, job)
    return JobStorageOut(
        id=job.id,
        name=job.name,
        status=JobStatus(job.status),
        files=used.files,
        bytes=used.bytes,
        deletable=reason is None,
        reason=reason,
    )


@releases_write_lock
def delete_job(session: Session, storage: Storage, job_id: str) -> JobDeleted:
    """409 while the job runs or work is still in flight; never half-deleted: the rows
    go in one transaction (tasks, outputs, flags cascade), then the files. Checked
    under the write lock: a retry and a claim cannot slip in between the check and the
    delete (a dispatched task's paid image would be lost)."""
    job = job_for_update(session, job_id)
    reason = _refusal(session, job)
    if reason is not None:
        raise Conflict(reason, details={"status": job.status})
    name = job.name
    references = {str(r) for r in job.reference_asset_ids or []}
    session.execute(delete(Job).where(Job.id == job_id))
    session.commit()
    freed = storage.delete_prefix(outputs_prefix(job_id))
    if references:
        freed = freed + free_unreferenced(session, storage, references)
    log.info("deleted job %s: freed %d files, %d bytes", job_id, freed.files, freed.bytes)
    return JobDeleted(id=job_id, name=name, freed_files=freed.files, freed_bytes=freed.bytes)
