"""Checking a job request before anything is uploaded or created: the model, its
options, the route and every prompt template. The CLI calls this first, so a typo in
a template costs nothing rather than a whole dataset upload."""

from __future__ import annotations

from datetime import date

from bananabatch.catalog import Catalog, ModelInfo
from bananabatch.config import Settings
from bananabatch.domain.lifecycle import lifecycle_warning, utc_today
from bananabatch.domain.plan import (
    AutomaticSpec,
    SemiAutoPrompt,
    SemiAutoSpec,
)
from bananabatch.domain.plan_automatic import (
    check_automatic_spec,
)
from bananabatch.domain.plan_semi_auto import (
    plan_semi_auto,
)
from bananabatch.domain.pricing import check_options
from bananabatch.domain.templating import parse_prompts_csv
from bananabatch.errors import ValidationFailed
from bananabatch.providers.gemini_preflight import GeminiPreflight, require_model_access
from bananabatch.services.job_requests import AutomaticJobCreate, JobCheckOut, JobCreate


def resolve_model(
    settings: Settings, catalog: Catalog, requested: str | None, today: date
) -> tuple[ModelInfo, list[str]]:
    """The model a new job uses: shut-down models are refused naming their replacement,
    deprecated ones and unknown Gemini ids are accepted with a warning."""
    model_id = requested or settings.resolved_default_model
    catalog.check_new_id(model_id)
    model, warning = catalog.resolve(model_id)
    warnings = [warning] if warning else []
    lifecycle = lifecycle_warning(model, catalog, today)
    if lifecycle:
        warnings.append(lifecycle)
    remote = settings.resolved_executor == "runpod"  # the key lives in the worker's env
    if model.provider == "gemini" and not settings.gemini_configured and not remote:
        raise ValidationFailed(
            f"{model.id} runs on Google's Gemini API, and no key is configured. Set GEMINI_API_KEY "
            "(or GOOGLE_API_KEY) and restart, or pick the offline 'classic' model."
        )
    return model, warnings


def check_model_and_options(
    settings: Settings, catalog: Catalog, req: JobCreate
) -> tuple[ModelInfo, list[str]]:
    """The model (with its warnings), its aspect ratio and size, and the route."""
    model, warnings = resolve_model(settings, catalog, req.model, utc_today())
    check_options(model, req.options.aspect_ratio, req.options.image_size)
    if req.use_batch_api and model.provider != "gemini":
        raise ValidationFailed(
            f"The Batch API is Gemini's: {model.id} is not a Gemini model. Pick a Gemini "
            "model or turn the Batch API off."
        )
    return model, warnings


def check_job_request(
    settings: Settings,
    catalog: Catalog,
    req: JobCreate,
    *,
    preflight: GeminiPreflight | None,
) -> JobCheckOut:
    """Every check that needs no uploaded image. `dataset_id` and `reference_asset_ids`
    are not looked up; only the number of references counts (against the model's limit).
    With a preflight, a Gemini model's access is then checked with Google (last)."""
    model, warnings = check_model_and_options(settings, catalog, req)
    if isinstance(req, AutomaticJobCreate):
        check_automatic_spec(
            AutomaticSpec(
                prompt=req.prompt,
                variations=req.variations,
                seed=req.seed or 0,
                output_format=req.options.output_format,
                outputs_per_task=settings.outputs_per_task,
                per_image_prompts=parse_prompts_csv(req.prompts_csv) if req.prompts_csv else {},
                per_class_prompts=dict(req.per_class_prompts),
            )
        )
    else:
        plan_semi_auto(
            SemiAutoSpec(
                prompts=[SemiAutoPrompt(prompt=p.prompt, count=p.count) for p in req.prompts],
                reference_count=len(req.reference_asset_ids),
                seed=req.seed or 0,
                output_format=req.options.output_format,
                outputs_per_task=settings.outputs_per_task,
            ),
            model,
        )
    if preflight is not None and model.provider == "gemini":
        warnings.extend(require_model_access(preflight, model.id))
    return JobCheckOut(model=model.id, provider=model.provider, warnings=warnings)
