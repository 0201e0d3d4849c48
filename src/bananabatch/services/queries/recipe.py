"""A job's recipe: what decides its images, read back from the job as it was created."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from bananabatch.catalog import load_catalog
from bananabatch.db.models import Job
from bananabatch.domain.references import reference_warning, references_used
from bananabatch.domain.templating import parse_prompts_csv
from bananabatch.errors import BananaBatchError
from bananabatch.services.queries.paging import asset_image_url, asset_thumbnail_url
from bananabatch.services.queries.views import (
    RECIPE_IMAGE_PROMPTS,
    Recipe,
    RecipeImagePrompt,
    RecipePrompt,
    RecipeReference,
)

_CSV_CACHE_SIZE = 32
# Job detail is polled while a job runs and a prompts CSV can be 8 MB: its rows are
# parsed once per job (the recipe never changes), not once per poll.
_csv_rows: OrderedDict[str, tuple[list[RecipeImagePrompt], int]] = OrderedDict()


def _per_image_prompts(job_id: str, text: str | None) -> tuple[list[RecipeImagePrompt], int]:
    if not text:
        return [], 0
    cached = _csv_rows.get(job_id)
    if cached is not None:
        _csv_rows.move_to_end(job_id)
        return cached
    try:
        rows = parse_prompts_csv(text)
    except BananaBatchError:  # it parsed when the job was created; never fail a read
        rows = {}
    head = [
        RecipeImagePrompt(path=p, prompt=t) for p, t in list(rows.items())[:RECIPE_IMAGE_PROMPTS]
    ]
    _csv_rows[job_id] = (head, len(rows))
    while len(_csv_rows) > _CSV_CACHE_SIZE:
        _csv_rows.popitem(last=False)
    return head, len(rows)


def job_recipe(job: Job) -> Recipe:
    """The recipe of `job` from its stored request (`spec`), options and model."""
    spec: dict[str, Any] = dict(job.spec or {})
    options: dict[str, Any] = dict(job.options or {})
    model = load_catalog().get(job.model)  # None: an id the catalog does not know
    refs = [str(a) for a in job.reference_asset_ids or []]
    used = references_used(model, len(refs)) if model else len(refs)
    head, count = _per_image_prompts(job.id, spec.get("prompts_csv"))
    automatic = job.mode == "automatic"
    return Recipe(
        mode="automatic" if automatic else "semi_auto",
        prompt=str(spec.get("prompt") or "") if automatic else None,
        prompts=[
            RecipePrompt(prompt=str(p.get("prompt", "")), count=int(p.get("count", 0)))
            for p in spec.get("prompts") or []
        ],
        per_class_prompts={
            str(k): str(v) for k, v in (spec.get("per_class_prompts") or {}).items()
        },
        per_image_prompts=head,
        per_image_prompt_count=count,
        references=[
            RecipeReference(
                asset_id=a,
                image_url=asset_image_url(a),
                thumbnail_url=asset_thumbnail_url(a),
                used=i < used,
            )
            for i, a in enumerate(refs)
        ],
        references_used=used,
        reference_warning=reference_warning(model, len(refs)) if model else None,
        model=job.model,
        model_name=model.display_name if model else job.model,
        provider=job.provider,
        image_size=options.get("image_size"),
        aspect_ratio=options.get("aspect_ratio"),
        fit_to_source=bool(options.get("fit_to_source")),
        output_format=options.get("output_format") or "png",
        seed=job.seed,
        variations=int(spec.get("variations") or 1) if automatic else None,
        splits=spec.get("splits") if automatic else None,
        include_originals=job.include_originals,
        route="batch" if job.route == "batch" else "standard",
    )
