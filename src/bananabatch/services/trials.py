"""Running the rest of a trial: the trial job becomes the whole job.

The job is planned again from its stored request and seed (planning is a pure
function of them), and only the slots the trial did not create are added, under
the same batches. The trial's outputs stay what they are: nothing they made is
generated or paid for again.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bananabatch.catalog import Catalog
from bananabatch.config import Settings
from bananabatch.contracts import Mode
from bananabatch.db.models import TERMINAL_JOB_STATUSES, Batch, Job, JobStatus, Output, utcnow
from bananabatch.db.session import releases_write_lock
from bananabatch.domain.trials import subplan
from bananabatch.errors import Conflict
from bananabatch.providers.gemini_preflight import GeminiPreflight
from bananabatch.services.job_actions import get_job, job_for_update
from bananabatch.services.job_requests import AutomaticJobCreate, JobCreate, SemiAutoJobCreate
from bananabatch.services.job_rows import insert_plan_rows
from bananabatch.services.jobs import prepare, price_plan
from bananabatch.storage.base import Storage

log = logging.getLogger(__name__)


def request_of(job: Job) -> JobCreate:
    """The creation request a job was made from, on the model it runs on."""
    model: type[AutomaticJobCreate] | type[SemiAutoJobCreate] = (
        AutomaticJobCreate if job.mode == Mode.automatic else SemiAutoJobCreate
    )
    fields: dict[str, Any] = {k: v for k, v in job.spec.items() if k in model.model_fields}
    fields.update(model=job.model, seed=job.seed, trial=None)
    return model.model_validate(fields)


def _continuable(job: Job) -> Job:
    if job.trial_size is None:
        raise Conflict(f"Job {job.name!r} is not a trial; it already runs on everything.")
    if job.trial_continued_at is not None:
        raise Conflict(f"The rest of trial {job.name!r} is already running.")
    if job.status == JobStatus.cancelled:
        raise Conflict(
            f"Trial {job.name!r} was cancelled; start a new trial or job instead of continuing it."
        )
    return job


@releases_write_lock
def continue_trial(
    session: Session,
    settings: Settings,
    catalog: Catalog,
    job_id: str,
    *,
    preflight: GeminiPreflight | None,
    storage: Storage | None = None,
) -> Job:
    """Add the slots the trial left out and queue them; returns the job.

    Refused for a job that is not a trial, already continued, or cancelled, and when the
    job no longer plans to the trial's slots (its dataset changed): the trial's outputs
    would then not be the job's.
    """
    job = _continuable(get_job(session, job_id))
    req = request_of(job)
    prepared = prepare(session, settings, catalog, req, job.seed, preflight, storage)
    plan = prepared.plan
    made = {
        path: (prompt, seed)
        for path, prompt, seed in session.execute(
            select(Output.archive_path, Output.prompt, Output.seed).where(Output.job_id == job.id)
        )
    }
    planned = {o.archive_path: o for o in plan.outputs()}
    for path, (prompt, seed) in made.items():
        twin = planned.get(path)
        if twin is None or twin.prompt != prompt or twin.seed != seed:
            raise Conflict(
                f"Trial {job.name!r} no longer matches its job ({path!r} changed: the dataset "
                "or the model changed since the trial). Start a new job instead."
            )
    # Planning ran without the write lock; the job is read again under it, so the status
    # decided below is not one an orchestrator round has just changed.
    job = _continuable(job_for_update(session, job_id))
    rest = subplan(plan, {o.position for o in planned.values() if o.archive_path not in made})
    batches = {b.position: b for b in session.scalars(select(Batch).where(Batch.job_id == job.id))}
    insert_plan_rows(
        session, job.id, rest, job.model, batch_ids={p: b.id for p, b in batches.items()}
    )
    for pb in plan.batches:
        if pb.position in batches:
            batches[pb.position].count = pb.count
    job.total_outputs = plan.total_outputs
    job.total_tasks += rest.total_tasks
    job.cost_estimate = price_plan(plan, prepared, req).cost_usd
    job.planned_outputs = plan.total_outputs
    job.planned_cost = job.cost_estimate
    job.trial_continued_at = utcnow()
    if job.status in TERMINAL_JOB_STATUSES:
        job.status = JobStatus.running if job.started_at else JobStatus.queued
        job.finished_at = None
        job.error = None
    job.revision = (job.revision or 0) + 1
    session.commit()
    log.info(
        "job %s: trial continued, %d more output(s) in %d task(s)",
        job.id,
        rest.total_outputs,
        rest.total_tasks,
    )
    return job
