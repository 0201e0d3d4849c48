"""Job housekeeping: the storage a job holds, deleting it with its files, and its
recipe as a create request (what "duplicate job" starts from)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from bananabatch.api.deps import JobId, RuntimeDep, SessionDep
from bananabatch.api.schemas import JobCreate
from bananabatch.services import job_delete
from bananabatch.services.job_delete import JobDeleted, JobStorageOut
from bananabatch.services.job_requests import AutomaticJobCreate, SemiAutoJobCreate
from bananabatch.services.recipes import job_recipe

router = APIRouter(prefix="/jobs", tags=["jobs"])


@router.get(
    "/{job_id}/storage",
    response_model=JobStorageOut,
    summary="The files a job holds, and whether it can be deleted now",
)
async def get_job_storage(job_id: JobId, runtime: RuntimeDep, session: SessionDep) -> JobStorageOut:
    return await run_in_threadpool(job_delete.job_storage, session, runtime.storage, job_id)


@router.delete(
    "/{job_id}",
    response_model=JobDeleted,
    summary="Delete a finished or cancelled job with its files",
    responses={409: {"description": "The job is still running (cancel it first)."}},
)
async def delete_job(job_id: JobId, runtime: RuntimeDep, session: SessionDep) -> JobDeleted:
    """Removes its outputs, thumbnails and the reference images only it used; its
    entries in the spend ledger stay. A job not finished or cancelled is refused (409)."""
    return await run_in_threadpool(job_delete.delete_job, session, runtime.storage, job_id)


@router.get(
    "/{job_id}/recipe",
    response_model=JobCreate,
    summary="The job's recipe as a create request (duplicate job)",
)
async def get_job_recipe(
    job_id: JobId, session: SessionDep
) -> AutomaticJobCreate | SemiAutoJobCreate:
    """POST it to `/jobs` (after any edit) to run the same job again; it carries the seed
    the job used and the name with " (copy)"."""
    return await run_in_threadpool(job_recipe, session, job_id)
