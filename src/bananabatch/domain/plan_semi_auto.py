"""The semi-automatic planner: one batch per prompt, its count split into runs of
`outputs_per_task` that share the job's reference images. Pure."""

from __future__ import annotations

from bananabatch.catalog import ModelInfo, load_catalog
from bananabatch.domain.naming import semi_auto_output_name, slugify
from bananabatch.domain.plan import (
    BATCH_NAME_MAX,
    MAX_SEMI_AUTO_COUNT,
    Plan,
    PlannedBatch,
    PlannedOutput,
    PlannedTask,
    SemiAutoSpec,
    check_common,
    check_template,
    numbered_runs,
)
from bananabatch.domain.seeds import derive_seed
from bananabatch.domain.templating import SEMI_AUTO_VARIABLES, PromptContext, render_prompt
from bananabatch.errors import TooManyReferences, ValidationFailed


def batch_name_for_prompt(prompt: str, max_len: int = BATCH_NAME_MAX) -> str:
    """A one-line label for a prompt's batch, cut to `max_len` characters with an ellipsis."""
    one_line = " ".join(prompt.split())
    if len(one_line) <= max_len:
        return one_line
    return one_line[: max_len - 1].rstrip() + "…"


def _check_references(reference_count: int, model: ModelInfo) -> None:
    if reference_count < 0:
        raise ValidationFailed("reference_count cannot be negative.")
    limit = model.max_reference_images
    if reference_count <= limit:
        return
    extra = reference_count - limit
    bigger = [
        m
        for m in load_catalog().accepting_references(reference_count)
        if m.provider == "gemini" and m.id != model.id and m.status == "current"
    ]
    if bigger:
        most = max(m.max_reference_images for m in bigger)
        alternative = (
            f"pick a model that accepts more ({', '.join(m.id for m in bigger)}: up to {most})"
        )
    else:
        alternative = "no model accepts that many"
    raise TooManyReferences(
        f"{model.id} accepts at most {limit} reference image{'s' if limit != 1 else ''}; "
        f"you gave {reference_count}. Remove {extra} or {alternative}.",
        details={"model": model.id, "max": limit, "given": reference_count},
    )


def plan_semi_auto(spec: SemiAutoSpec, model: ModelInfo) -> Plan:
    """Plan creative generation: one batch per prompt, its count split into runs.

    The job's references are shared by every run. The prompt is rendered per
    output with index = run index and variation = the image's 1-based number in
    its batch, so wildcards vary from image to image.
    """
    ext = check_common(spec.outputs_per_task, spec.output_format)
    if not spec.prompts:
        raise ValidationFailed("Add at least one prompt.")
    _check_references(spec.reference_count, model)
    for number, item in enumerate(spec.prompts, start=1):
        label = f"Prompt {number}" if len(spec.prompts) > 1 else ""
        if not 1 <= item.count <= MAX_SEMI_AUTO_COUNT:
            raise ValidationFailed(
                f"{label or 'The prompt'}: count must be between 1 and "
                f"{MAX_SEMI_AUTO_COUNT}; got {item.count}."
            )
        check_template(item.prompt, label, SEMI_AUTO_VARIABLES)

    batches: list[PlannedBatch] = []
    position = 0
    for batch_position, item in enumerate(spec.prompts):
        slug = slugify(item.prompt)
        tasks: list[PlannedTask] = []
        for run_index, numbers in enumerate(numbered_runs(item.count, spec.outputs_per_task)):
            outputs = []
            for image_index, n in enumerate(numbers):
                ctx = PromptContext(index=run_index, variation=n)
                outputs.append(
                    PlannedOutput(
                        position=position,
                        variation=n,
                        prompt=render_prompt(item.prompt, ctx, seed=spec.seed),
                        seed=derive_seed(spec.seed, batch_position, n),
                        archive_path=semi_auto_output_name(
                            batch_position, slug, run_index, image_index, ext
                        ),
                        source_asset_id=None,
                        source_path=None,
                    )
                )
                position += 1
            tasks.append(
                PlannedTask(
                    position=run_index,
                    outputs=tuple(outputs),
                    source_asset_id=None,
                    source_path=None,
                )
            )
        batches.append(
            PlannedBatch(
                position=batch_position,
                name=batch_name_for_prompt(item.prompt),
                slug=slug,
                prompt=item.prompt,
                count=item.count,
                tasks=tuple(tasks),
            )
        )
    return Plan(batches=tuple(batches))
