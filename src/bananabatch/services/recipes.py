"""A job's recipe as a create request: what "duplicate job" starts from. The job
stored its request as given (`Job.spec`); this turns it back into one, with the seed
the job really used, so the copy renders the same prompts until the user changes it."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy.orm import Session

from bananabatch.db.models import Dataset, Job
from bananabatch.errors import Conflict, NotFound
from bananabatch.services.job_requests import AutomaticJobCreate, JobCreate, SemiAutoJobCreate

_ADAPTER: TypeAdapter[AutomaticJobCreate | SemiAutoJobCreate] = TypeAdapter(JobCreate)
COPY_SUFFIX = " (copy)"
MAX_NAME = 200


def _fields(mode: str) -> set[str]:
    model = AutomaticJobCreate if mode == "automatic" else SemiAutoJobCreate
    return set(model.model_fields)


def job_recipe(session: Session, job_id: str) -> AutomaticJobCreate | SemiAutoJobCreate:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"Job {job_id} does not exist.", details={"job_id": job_id})
    spec: dict[str, Any] = dict(job.spec or {})
    recipe = {k: v for k, v in spec.items() if k in _fields(job.mode)}
    recipe["mode"] = job.mode
    recipe["seed"] = job.seed
    base = (job.name or "Job")[: MAX_NAME - len(COPY_SUFFIX)]
    recipe["name"] = base + COPY_SUFFIX
    if job.mode == "automatic":
        recipe["dataset_id"] = job.dataset_id
        if job.dataset_id is None or session.get(Dataset, job.dataset_id) is None:
            raise Conflict(
                f"Job {job_id}'s dataset is gone; start a new job with another dataset.",
                details={"job_id": job_id},
            )
    try:
        return _ADAPTER.validate_python(recipe)
    except ValidationError as exc:  # a job stored by an older version with other fields
        raise Conflict(
            f"Job {job_id}'s recipe cannot be reused as it is ({exc.errors()[0]['msg']}); "
            "start a new job instead.",
            details={"job_id": job_id},
        ) from None
