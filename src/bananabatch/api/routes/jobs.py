"""Jobs: estimate, preview, create, list, detail, actions, outputs.

List and detail answer with an ETag and honour If-None-Match (304), so a UI
polling every second costs a couple of indexed queries and no body.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from bananabatch.api.deps import JobId, RuntimeDep, SessionDep
from bananabatch.api.routes._files import etag_matches
from bananabatch.api.schemas import (
    BudgetIn,
    EstimateOut,
    JobCheckOut,
    JobCreate,
    JobCreated,
    JobDetail,
    JobList,
    JobPatch,
    OutputPage,
    PromptPreview,
    RetryIn,
    RetryOut,
)
from bananabatch.db.models import JobStatus, OutputStatus, ReviewState
from bananabatch.quality.flags import Flag
from bananabatch.runtime import Runtime
from bananabatch.services import job_actions, job_checks, queries
from bananabatch.services import jobs as job_service
from bananabatch.services import review as review_service
from bananabatch.services import trials as trial_service
from bananabatch.services.queries.failures import failure_summary
from bananabatch.services.review import (
    RegenerateEstimateOut,
    RegenerateIn,
    RegenerateOut,
    ReviewIn,
    ReviewOut,
)

router = APIRouter(prefix="/jobs", tags=["jobs"])

POLL_CACHE = "no-cache"
_NOT_MODIFIED: dict[int | str, dict[str, object]] = {
    304: {"description": "Not modified (If-None-Match matched the current ETag)."}
}
JobCreateBody = Annotated[JobCreate, Body(discriminator="mode")]


def _wake(runtime: Runtime) -> None:
    """Tell the scheduler there is new work (called on the event loop thread)."""
    runtime.wake()


@router.post("/estimate", response_model=EstimateOut, summary="Outputs, tasks and cost")
async def estimate_job(
    body: JobCreateBody, runtime: RuntimeDep, session: SessionDep
) -> EstimateOut:
    """Validates the request like creation does, and creates nothing."""
    return await run_in_threadpool(
        partial(
            job_service.estimate_job,
            preflight=runtime.preflight,
            storage=runtime.storage,
        ),
        session,
        runtime.settings,
        runtime.catalog,
        body,
    )


@router.post("/validate", response_model=JobCheckOut, summary="Check a job before uploading")
async def validate_job(body: JobCreateBody, runtime: RuntimeDep) -> JobCheckOut:
    """Every check that needs no uploaded image (model, options, route, every prompt
    template, the prompts CSV, the Gemini key), so a client can refuse a bad job before
    it uploads a dataset. `dataset_id` and `reference_asset_ids` are not looked up: send
    `""` and one placeholder per reference image (their count is checked)."""
    return await run_in_threadpool(
        partial(job_checks.check_job_request, preflight=runtime.preflight),
        runtime.settings,
        runtime.catalog,
        body,
    )


@router.post("/preview", response_model=list[PromptPreview], summary="The first rendered prompts")
async def preview_job_prompts(
    body: JobCreateBody,
    runtime: RuntimeDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=50)] = 6,
) -> list[PromptPreview]:
    return await run_in_threadpool(
        partial(
            job_service.preview_prompts,
            session,
            runtime.settings,
            runtime.catalog,
            body,
            limit,
            storage=runtime.storage,
        )
    )


@router.post("", response_model=JobCreated, status_code=201, summary="Create and queue a job")
async def create_job(
    body: JobCreateBody, response: Response, runtime: RuntimeDep, session: SessionDep
) -> JobCreated:
    """A deprecated model is accepted (see `warnings`); a shut-down model, a key Google
    refuses or a model the key cannot use is a 422 before anything is stored or spent."""
    created = await run_in_threadpool(
        partial(job_service.create_job, preflight=runtime.preflight, storage=runtime.storage),
        session,
        runtime.settings,
        runtime.catalog,
        body,
    )
    _wake(runtime)
    job_id = created.job.id
    response.headers["Location"] = f"{queries.API_PREFIX}/jobs/{job_id}"
    detail = await run_in_threadpool(queries.job_detail, session, job_id)
    return JobCreated.model_validate({**detail.model_dump(), "warnings": created.warnings})


@router.get("", response_model=JobList, responses=_NOT_MODIFIED, summary="List jobs, newest first")
async def list_jobs(
    request: Request,
    response: Response,
    session: SessionDep,
    status: Annotated[
        list[JobStatus] | None, Query(description="Repeat to match several statuses.")
    ] = None,
    mode: Literal["automatic", "semi_auto"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
    updated_since: Annotated[
        datetime | None, Query(description="Only jobs changed after this time.")
    ] = None,
) -> JobList | Response:
    def etag_of_page() -> str:
        return queries.job_list_etag(
            session,
            status=status,
            mode=mode,
            limit=limit,
            offset=offset,
            updated_since=updated_since,
        )

    def page() -> JobList:
        return queries.list_jobs(
            session,
            status=status,
            mode=mode,
            limit=limit,
            offset=offset,
            updated_since=updated_since,
        )

    etag = await run_in_threadpool(etag_of_page)
    if etag_matches(request, etag):
        return Response(status_code=304, headers={"ETag": etag, "Cache-Control": POLL_CACHE})
    result = await run_in_threadpool(page)
    response.headers["ETag"] = etag
    response.headers["Cache-Control"] = POLL_CACHE
    return result


@router.get("/{job_id}", response_model=JobDetail, responses=_NOT_MODIFIED, summary="Job detail")
async def get_job(
    job_id: JobId, request: Request, response: Response, session: SessionDep
) -> JobDetail | Response:
    """Counts by status for the job and each batch, progress, cost, queue position."""
    etag = await run_in_threadpool(queries.job_etag, session, job_id)
    if etag_matches(request, etag):
        return Response(status_code=304, headers={"ETag": etag, "Cache-Control": POLL_CACHE})
    detail = await run_in_threadpool(queries.job_detail, session, job_id)
    response.headers["ETag"] = etag
    response.headers["Cache-Control"] = POLL_CACHE
    return detail


@router.patch("/{job_id}", response_model=JobDetail, summary="Change a job's priority")
async def update_job(
    job_id: JobId, body: JobPatch, runtime: RuntimeDep, session: SessionDep
) -> JobDetail:
    await run_in_threadpool(job_actions.set_priority, session, job_id, body.priority)
    _wake(runtime)
    return await run_in_threadpool(queries.job_detail, session, job_id)


@router.post("/{job_id}/cancel", response_model=JobDetail, summary="Cancel a job")
async def cancel_job(job_id: JobId, runtime: RuntimeDep, session: SessionDep) -> JobDetail:
    """Outputs not started are cancelled; images already being made are kept."""
    await run_in_threadpool(job_actions.cancel_job, session, job_id)
    _wake(runtime)
    return await run_in_threadpool(queries.job_detail, session, job_id)


@router.post("/{job_id}/continue", response_model=JobDetail, summary="Run the rest of a trial")
async def continue_trial(job_id: JobId, runtime: RuntimeDep, session: SessionDep) -> JobDetail:
    """A trial job becomes the whole job: the slots the trial left out are added and
    queued; the trial's outputs are kept and never generated (or paid for) again."""
    await run_in_threadpool(
        partial(
            trial_service.continue_trial,
            preflight=runtime.preflight,
            storage=runtime.storage,
        ),
        session,
        runtime.settings,
        runtime.catalog,
        job_id,
    )
    _wake(runtime)
    return await run_in_threadpool(queries.job_detail, session, job_id)


@router.post("/{job_id}/pause", response_model=JobDetail, summary="Pause a job")
async def pause_job(job_id: JobId, runtime: RuntimeDep, session: SessionDep) -> JobDetail:
    await run_in_threadpool(job_actions.pause_job, session, job_id)
    _wake(runtime)
    return await run_in_threadpool(queries.job_detail, session, job_id)


@router.put(
    "/{job_id}/budget",
    response_model=JobDetail,
    summary="Set a job's budget cap; raising it releases a job held at its cap",
)
async def set_job_budget(
    job_id: JobId, body: BudgetIn, runtime: RuntimeDep, session: SessionDep
) -> JobDetail:
    await run_in_threadpool(job_actions.set_budget, session, job_id, body.max_cost)
    _wake(runtime)
    return await run_in_threadpool(queries.job_detail, session, job_id)


@router.post("/{job_id}/resume", response_model=JobDetail, summary="Resume a paused job")
async def resume_job(job_id: JobId, runtime: RuntimeDep, session: SessionDep) -> JobDetail:
    await run_in_threadpool(job_actions.resume_job, session, job_id)
    _wake(runtime)
    return await run_in_threadpool(queries.job_detail, session, job_id)


@router.post("/{job_id}/retry-failed", response_model=RetryOut, summary="Re-queue failed outputs")
async def retry_failed_outputs(
    job_id: JobId,
    runtime: RuntimeDep,
    session: SessionDep,
    body: Annotated[RetryIn | None, Body()] = None,
) -> RetryOut:
    """All failed outputs, or only `output_ids` (which may include blocked ones)."""
    ids = body.output_ids if body is not None else None
    # read before the retry, which clears the errors it re-queues
    before = await run_in_threadpool(failure_summary, session, job_id, ids)
    requeued = await run_in_threadpool(job_actions.retry_failed, session, job_id, ids)
    if requeued:
        _wake(runtime)
    job = await run_in_threadpool(queries.job_detail, session, job_id)
    permanent = before.permanent if requeued else 0
    return RetryOut(
        requeued=requeued,
        permanent=permanent,
        message=before.message if permanent else None,
        job=job,
    )


@router.get(
    "/{job_id}/outputs",
    response_model=OutputPage,
    responses=_NOT_MODIFIED,
    summary="Outputs, cursor-paginated",
)
async def list_job_outputs(
    job_id: JobId,
    request: Request,
    session: SessionDep,
    cursor: Annotated[str | None, Query(max_length=4096)] = None,
    since: Annotated[
        str | None,
        Query(
            max_length=4096,
            description="A page's `changes_cursor`: only the outputs changed after it, "
            "in change order (no filters, no `cursor`).",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    batch_id: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[
        list[OutputStatus] | None, Query(description="Repeat to match several statuses.")
    ] = None,
    source: Annotated[
        str | None, Query(max_length=1024, description="A source path or source asset id.")
    ] = None,
    review: Annotated[
        list[ReviewState] | None, Query(description="Repeat to match several review states.")
    ] = None,
    flag: Annotated[
        list[Flag | Literal["any"]] | None,
        Query(description='Outputs with any of these flags; "any" for any flag at all.'),
    ] = None,
) -> Response:
    """Answers 304 to If-None-Match while nothing of the job changed (every change to
    an output moves the job's revision and its change number), so a poller's unchanged
    page costs next to nothing; with `since`, a changed one carries only what changed."""
    etag = await run_in_threadpool(queries.outputs_etag, session, job_id, str(request.url.query))
    if etag_matches(request, etag):
        return Response(status_code=304, headers={"ETag": etag, "Cache-Control": POLL_CACHE})
    body = await run_in_threadpool(
        partial(
            queries.list_outputs_json,
            session,
            job_id,
            cursor=cursor,
            since=since,
            limit=limit,
            batch_id=batch_id,
            status=status,
            source=source,
            review=review,
            flag=flag,
        )
    )
    # Built from each output's kept JSON (`OutputPage`'s own serialisation): sent as is.
    headers = {"ETag": etag, "Cache-Control": POLL_CACHE}
    return Response(body, media_type="application/json", headers=headers)


@router.post("/{job_id}/review", response_model=ReviewOut, summary="Accept or reject outputs")
async def review_outputs(job_id: JobId, body: ReviewIn, session: SessionDep) -> ReviewOut:
    """By id, by quality flag, or both; only outputs with an image are reviewed."""
    return await run_in_threadpool(review_service.review_outputs, session, job_id, body)


@router.get(
    "/{job_id}/regenerate-rejected",
    response_model=RegenerateEstimateOut,
    summary="The price of generating the rejected outputs again",
)
async def regenerate_rejected_estimate(
    job_id: JobId, runtime: RuntimeDep, session: SessionDep
) -> RegenerateEstimateOut:
    return await run_in_threadpool(
        review_service.regenerate_estimate, session, runtime.catalog, job_id
    )


@router.post(
    "/{job_id}/regenerate-rejected",
    response_model=RegenerateOut,
    summary="Generate the rejected outputs again (those slots only)",
)
async def regenerate_rejected(
    job_id: JobId,
    runtime: RuntimeDep,
    session: SessionDep,
    body: Annotated[RegenerateIn | None, Body()] = None,
) -> RegenerateOut:
    """Pass the `outputs` count the price was shown for as `expected_outputs`: when the
    rejected set changed meanwhile the request is refused (409) instead of paying for
    a different set. The old images are discarded."""
    expected = body.expected_outputs if body is not None else None
    done = await run_in_threadpool(
        review_service.regenerate_rejected,
        session,
        runtime.storage,
        runtime.catalog,
        job_id,
        expected,
    )
    if done.outputs:
        _wake(runtime)
    job = await run_in_threadpool(queries.job_detail, session, job_id)
    return RegenerateOut(requeued=done.outputs, cost_usd=done.cost_usd, job=job)
