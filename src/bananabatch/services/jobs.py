"""Job use cases (write side): estimate, preview, create (the user's actions on a job
that exists are in `job_actions`).

Shared by the HTTP API and the CLI. Each function validates through the pure
domain (planner, templating, pricing), raises domain errors a user can act on,
and commits its own changes.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bananabatch.catalog import Catalog, ModelInfo
from bananabatch.config import Settings
from bananabatch.contracts import Mode, Route
from bananabatch.db.models import (
    Asset,
    Dataset,
    DatasetItem,
    Job,
    JobStatus,
    new_id,
    utcnow,
)
from bananabatch.domain.lifecycle import utc_today
from bananabatch.domain.payload_budget import TransportRoutes, transport_problem
from bananabatch.domain.plan import (
    AutomaticSpec,
    Plan,
    SemiAutoPrompt,
    SemiAutoSpec,
)
from bananabatch.domain.plan_automatic import (
    plan_automatic,
)
from bananabatch.domain.plan_semi_auto import (
    plan_semi_auto,
)
from bananabatch.domain.pricing import Estimate, estimate_plan
from bananabatch.domain.references import reference_warning
from bananabatch.domain.templating import parse_prompts_csv
from bananabatch.domain.trials import TrialSplit, split_trial
from bananabatch.errors import NotFound, TransportUnavailable
from bananabatch.providers.gemini_preflight import GeminiPreflight, require_model_access
from bananabatch.services.job_checks import check_model_and_options
from bananabatch.services.job_datasets import (
    DatasetChoice,
    choose_sources,
    include_originals_for,
    job_options,
    job_spec,
    split_estimates,
    store_of,
)
from bananabatch.services.job_requests import (
    AutomaticJobCreate,
    EstimateOut,
    JobCreate,
    PromptPreview,
    SemiAutoJobCreate,
    TrialEstimate,
)
from bananabatch.services.job_rows import insert_plan_rows
from bananabatch.storage.base import Storage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Prepared:
    model: ModelInfo
    warnings: list[str]
    plan: Plan
    seed: int
    dataset: DatasetChoice | None = None


@dataclass(frozen=True)
class CreatedJob:
    """A new job and what its creator should be told (deprecated model, unchecked key)."""

    job: Job
    warnings: list[str]


def prepare(
    session: Session,
    settings: Settings,
    catalog: Catalog,
    req: JobCreate,
    seed: int,
    preflight: GeminiPreflight | None = None,
    storage: Storage | None = None,
) -> Prepared:
    """Validate `req` and plan it. With a preflight, a Gemini job's key and model are
    then checked with Google (last: every local check is free and comes first)."""
    model, warnings = check_model_and_options(settings, catalog, req)
    choice: DatasetChoice | None = None
    if isinstance(req, AutomaticJobCreate):
        if session.get(Dataset, req.dataset_id) is None:
            raise NotFound(f"Dataset {req.dataset_id} does not exist. Upload the images first.")
        choice = choose_sources(session, store_of(settings, storage), req)
        sources = choice.sources
        spec = AutomaticSpec(
            prompt=req.prompt,
            variations=req.variations,
            seed=seed,
            output_format=req.options.output_format,
            outputs_per_task=settings.outputs_per_task,
            per_image_prompts=parse_prompts_csv(req.prompts_csv) if req.prompts_csv else {},
            per_class_prompts=dict(req.per_class_prompts),
        )
        plan = plan_automatic(spec, sources)
    else:
        missing = [a for a in req.reference_asset_ids if session.get(Asset, a) is None]
        if missing:
            raise NotFound(
                f"Reference image(s) not found: {', '.join(missing)}. Upload them again."
            )
        semi = SemiAutoSpec(
            prompts=[SemiAutoPrompt(prompt=p.prompt, count=p.count) for p in req.prompts],
            reference_count=len(req.reference_asset_ids),
            seed=seed,
            output_format=req.options.output_format,
            outputs_per_task=settings.outputs_per_task,
        )
        plan = plan_semi_auto(semi, model)
        ignored = reference_warning(model, len(req.reference_asset_ids))
        if ignored:
            warnings.append(ignored)
    _check_transport(session, settings, req)
    if preflight is not None and model.provider == "gemini":
        warnings.extend(require_model_access(preflight, model.id))
    return Prepared(model=model, warnings=warnings, plan=plan, seed=seed, dataset=choice)


def _route(req: JobCreate) -> Route:
    return "batch" if req.use_batch_api else "standard"


def _references_per_call(req: JobCreate) -> int:
    """Images sent with each call: the source (automatic) or every reference."""
    return 1 if isinstance(req, AutomaticJobCreate) else len(req.reference_asset_ids)


def _check_transport(session: Session, settings: Settings, req: JobCreate) -> None:
    """On RunPod, refuse a job whose images cannot travel before anything is spent."""
    if settings.resolved_executor != "runpod" or req.use_batch_api:
        return  # Batch API work is sent from this server, never through RunPod
    if isinstance(req, AutomaticJobCreate):
        largest = session.scalar(
            select(func.max(Asset.size_bytes))
            .join(DatasetItem, DatasetItem.asset_id == Asset.id)
            .where(DatasetItem.dataset_id == req.dataset_id)
        )
        sizes = [int(largest or 0)]
    else:
        sizes = [
            int(n)
            for n in session.scalars(
                select(Asset.size_bytes).where(Asset.id.in_(req.reference_asset_ids))
            )
        ]
    problem = transport_problem(
        reference_sizes=sizes,
        slots_per_task=settings.outputs_per_task,
        output_format=req.options.output_format,
        image_size=req.options.image_size,
        routes=TransportRoutes(
            presigned=bool(settings.s3_bucket), server_urls=bool(settings.public_url)
        ),
    )
    if problem:
        raise TransportUnavailable(problem)


def estimate_job(
    session: Session,
    settings: Settings,
    catalog: Catalog,
    req: JobCreate,
    *,
    preflight: GeminiPreflight | None,
    storage: Storage | None = None,
) -> EstimateOut:
    """Validate like creation (preflight included when given) and price; creates nothing."""
    prepared = prepare(session, settings, catalog, req, req.seed or 0, preflight, storage)
    split = _trial_of(req, prepared, warn=False)  # the answer's `trial` says it all
    est = price_plan(prepared.plan, prepared, req)
    trial = None
    if split is not None:
        trial_est = price_plan(split.trial, prepared, req)
        rest_est = price_plan(split.rest, prepared, req)
        trial = TrialEstimate(
            outputs=trial_est.outputs,
            cost_usd=trial_est.cost_usd,
            rest_outputs=rest_est.outputs,
            rest_cost_usd=rest_est.cost_usd,
        )
    choice = prepared.dataset
    return EstimateOut(
        outputs=est.outputs,
        tasks=est.tasks,
        batches=est.batches,
        price_per_image=est.price_per_image,
        cost_usd=est.cost_usd,
        batch_price_per_image=est.batch_price_per_image,
        batch_cost_usd=est.batch_cost_usd,
        model=est.model,
        model_known=est.model_known,
        model_status=prepared.model.status_on(utc_today()),
        provider=prepared.model.provider,
        warnings=list(est.warnings),
        label_format=choice.label_format if choice else None,
        splits=split_estimates(prepared.dataset, prepared.plan),
        skipped_images=choice.skipped if choice else 0,
        reference_warning=reference_warning(prepared.model, len(req.reference_asset_ids))
        if isinstance(req, SemiAutoJobCreate)
        else None,
        trial=trial,
    )


def price_plan(plan: Plan, prepared: Prepared, req: JobCreate) -> Estimate:
    """`plan` (the job, or a part of it) priced like the job's calls will be."""
    return estimate_plan(
        plan,
        prepared.model,
        req.options.image_size,
        prepared.warnings,
        references=_references_per_call(req),
        route=_route(req),
    )


def _trial_of(req: JobCreate, prepared: Prepared, *, warn: bool = True) -> TrialSplit | None:
    """The trial asked for, or None (none asked, or it would be the whole job: a
    warning says so and the job runs whole)."""
    if req.trial is None:
        return None
    split = split_trial(prepared.plan, req.trial, prepared.seed)
    if split.covers_all:
        if warn:
            prepared.warnings.append(
                f"The job has only {prepared.plan.total_outputs} image(s), no more than the "
                f"trial's {req.trial}: it runs whole."
            )
        return None
    return split


def preview_prompts(
    session: Session,
    settings: Settings,
    catalog: Catalog,
    req: JobCreate,
    limit: int = 6,
    *,
    storage: Storage | None = None,
) -> list[PromptPreview]:
    """The first few rendered prompts, exactly as the job would render them."""
    prepared = prepare(session, settings, catalog, req, seed=req.seed or 0, storage=storage)
    previews: list[PromptPreview] = []
    for batch in prepared.plan.batches:
        for task in batch.tasks:
            for out in task.outputs:
                previews.append(
                    PromptPreview(
                        source_path=out.source_path,
                        batch=batch.name,
                        variation=out.variation,
                        prompt=out.prompt,
                    )
                )
                if len(previews) >= limit:
                    return previews
    return previews


def create_job(
    session: Session,
    settings: Settings,
    catalog: Catalog,
    req: JobCreate,
    *,
    preflight: GeminiPreflight | None,
    storage: Storage | None = None,
) -> CreatedJob:
    """Validate, plan and store a queued job. Callers that can spend money pass the
    runtime's preflight, so a bad key or unusable model fails here, not per output."""
    seed = req.seed if req.seed is not None else secrets.randbelow(2**31)
    prepared = prepare(session, settings, catalog, req, seed, preflight, storage)
    model = prepared.model
    split = _trial_of(req, prepared)
    plan = split.trial if split else prepared.plan  # a trial stores only its sampled slots
    est = price_plan(plan, prepared, req)
    for warning in prepared.warnings:
        log.warning("job %r: %s", req.name, warning)
    is_auto = isinstance(req, AutomaticJobCreate)
    job = Job(
        id=new_id(),
        mode=Mode.automatic if is_auto else Mode.semi_auto,
        name=req.name or _default_name(req),
        provider=model.provider,
        model=model.id,
        status=JobStatus.queued,
        priority=req.priority,
        max_cost=req.max_cost,
        webhook_url=req.webhook_url or settings.webhook_url,
        route=_route(req),
        seed=seed,
        spec=job_spec(req, prepared.dataset),
        options=job_options(req, model),
        dataset_id=req.dataset_id if isinstance(req, AutomaticJobCreate) else None,
        reference_asset_ids=list(req.reference_asset_ids)
        if isinstance(req, SemiAutoJobCreate)
        else [],
        include_originals=include_originals_for(req, prepared.dataset),
        total_outputs=plan.total_outputs,
        total_tasks=plan.total_tasks,
        cost_estimate=est.cost_usd,
    )
    if split is not None:
        job.trial_size = req.trial
        job.planned_outputs = prepared.plan.total_outputs
        job.planned_cost = price_plan(prepared.plan, prepared, req).cost_usd
    session.add(job)
    insert_plan_rows(session, job.id, plan, model.id)
    session.commit()
    log.info(
        "created %s job %s: %d outputs in %d tasks (model %s)",
        job.mode,
        job.id,
        job.total_outputs,
        job.total_tasks,
        job.model,
    )
    return CreatedJob(job=job, warnings=list(est.warnings))


def _default_name(req: JobCreate) -> str:
    stamp = utcnow().strftime("%Y-%m-%d %H:%M")
    if isinstance(req, AutomaticJobCreate):
        return f"Augment x{req.variations} · {stamp}"
    first = (
        req.prompts[0].prompt.strip().splitlines()[0]
        if req.prompts[0].prompt.strip()
        else "Creative"
    )
    return f"{first[:48]} · {stamp}"
