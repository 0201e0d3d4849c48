"""The planner: a job spec becomes batches of tasks of output slots. Pure.

Automatic mode: every source image x V variations, at most `outputs_per_task`
outputs per task and one source per task (its bytes travel once); one batch
per top-level dataset folder (class), or one batch for a flat dataset.
Semi-automatic mode: one batch per prompt; its count is split into runs of
`outputs_per_task` that share the job's reference images.

Everything a plan holds (prompts, seeds, archive paths) is a pure function of
the spec, so planning the same spec twice gives the same plan.
"""

from __future__ import annotations

import posixpath
import unicodedata
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from bananabatch.catalog import ModelInfo, load_catalog
from bananabatch.domain.naming import (
    automatic_output_namer,
    ext_for_format,
    normalize_rel_path,
    semi_auto_output_name,
    slugify,
)
from bananabatch.domain.seeds import derive_seed, json_part, seed_of_json
from bananabatch.domain.templating import (
    SEMI_AUTO_VARIABLES,
    VARIABLES,
    PromptContext,
    normalize_prompt_path,
    render_prompt,
    validate_template,
)
from bananabatch.errors import TemplateError, TooManyReferences, ValidationFailed

MAX_VARIATIONS = 100
MAX_SEMI_AUTO_COUNT = 1000
MAX_OUTPUTS_PER_TASK = 16
BATCH_NAME_MAX = 60
FLAT_BATCH = ("all", "all")  # (name, slug) of the one batch of a flat dataset
ROOT_BATCH = ("(root)", "root")  # files at the root of a dataset that also has folders


@dataclass(frozen=True)
class SourceImage:
    rel_path: str
    asset_id: str


@dataclass(frozen=True)
class AutomaticSpec:
    prompt: str
    variations: int
    seed: int
    output_format: str = "png"
    outputs_per_task: int = 4
    per_image_prompts: Mapping[str, str] = field(default_factory=dict)  # rel_path -> template
    per_class_prompts: Mapping[str, str] = field(default_factory=dict)  # folder -> template


@dataclass(frozen=True)
class SemiAutoPrompt:
    prompt: str
    count: int


@dataclass(frozen=True)
class SemiAutoSpec:
    prompts: Sequence[SemiAutoPrompt]
    reference_count: int
    seed: int
    output_format: str = "png"
    outputs_per_task: int = 4


@dataclass(frozen=True)
class PlannedOutput:
    position: int  # order within the job, 0-based
    variation: int  # automatic: 1..V per source; semi-auto: 1..count within the batch
    prompt: str  # rendered
    seed: int
    archive_path: str
    source_asset_id: str | None
    source_path: str | None


@dataclass(frozen=True)
class PlannedTask:
    position: int  # run index within its batch, 0-based
    outputs: tuple[PlannedOutput, ...]  # 1..outputs_per_task
    source_asset_id: str | None
    source_path: str | None


@dataclass(frozen=True)
class PlannedBatch:
    position: int
    name: str
    slug: str
    prompt: str  # the template (automatic: the class prompt or the base prompt)
    count: int  # outputs in the batch
    tasks: tuple[PlannedTask, ...]

    def outputs(self) -> Iterator[PlannedOutput]:
        for task in self.tasks:
            yield from task.outputs


@dataclass(frozen=True)
class Plan:
    batches: tuple[PlannedBatch, ...]
    warnings: tuple[str, ...] = ()  # things worth telling the user that do not stop the job

    @property
    def total_outputs(self) -> int:
        return sum(len(task.outputs) for batch in self.batches for task in batch.tasks)

    @property
    def total_tasks(self) -> int:
        return sum(len(batch.tasks) for batch in self.batches)

    def outputs(self) -> Iterator[PlannedOutput]:
        for batch in self.batches:
            yield from batch.outputs()


def top_level_folder(rel_path: str) -> str:
    """`cat/sub/1.jpg` -> `cat`; `1.jpg` -> `` (the dataset root)."""
    path = normalize_rel_path(rel_path)
    head, sep, _ = path.partition("/")
    return head if sep else ""


def _check_common(outputs_per_task: int, output_format: str) -> str:
    if not 1 <= outputs_per_task <= MAX_OUTPUTS_PER_TASK:
        raise ValidationFailed(
            f"outputs_per_task must be between 1 and {MAX_OUTPUTS_PER_TASK}; "
            f"got {outputs_per_task}."
        )
    return ext_for_format(output_format)


def _chunks(total: int, size: int) -> Iterator[range]:
    """1-based numbers 1..total in runs of at most `size`: 10, 4 -> 1-4, 5-8, 9-10."""
    for start in range(1, total + 1, size):
        yield range(start, min(start + size, total + 1))


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


# ---- automatic ----


@dataclass(frozen=True)
class _Source:
    """A source placed in the job: its order, batch and effective template."""

    index: int
    rel_path: str
    asset_id: str
    folder: str
    template: str
    keep_source_ext: bool


@dataclass(frozen=True)
class _BatchLayout:
    name: str
    slug: str
    folder: str
    template: str
    sources: tuple[_Source, ...]


def _check_template(template: str, label: str, variables: Sequence[str] = VARIABLES) -> None:
    """Validate one template, saying which prompt it is (`label`) when there are several."""
    try:
        validate_template(template, variables=variables)
    except TemplateError as exc:
        if not label:
            raise
        message = exc.message
        if exc.position is not None:
            message = message.removesuffix(f" (at character {exc.position + 1})")
        raise TemplateError(f"{label}: {message}", position=exc.position) from exc


def _check_automatic_parts(spec: AutomaticSpec) -> tuple[str, dict[str, str], dict[str, str]]:
    """The checks that need no dataset: variations, format, per-image and per-class
    templates. Returns (output extension, per-image and per-class templates by key)."""
    if not 1 <= spec.variations <= MAX_VARIATIONS:
        raise ValidationFailed(
            f"variations must be between 1 and {MAX_VARIATIONS}; got {spec.variations}."
        )
    ext = _check_common(spec.outputs_per_task, spec.output_format)
    per_image = {normalize_prompt_path(p): t for p, t in spec.per_image_prompts.items()}
    per_class = {_nfc(k.strip()): t for k, t in spec.per_class_prompts.items()}
    for path, template in sorted(per_image.items()):
        _check_template(template, f"Prompt for image {path!r}")
    for folder, template in sorted(per_class.items()):
        _check_template(template, f"Prompt for class {folder!r}")
    return ext, per_image, per_class


def check_automatic_spec(spec: AutomaticSpec) -> None:
    """Everything about an automatic job that can be checked before its images are
    uploaded, the base prompt included (a client validates first, then uploads)."""
    _check_automatic_parts(spec)
    validate_template(spec.prompt)


def _automatic_layout(
    spec: AutomaticSpec, sources: Sequence[SourceImage]
) -> tuple[str, list[_BatchLayout], list[str]]:
    """Validate an automatic spec and order its sources into batches.

    Returns (output extension, batches in job order, warnings).
    """
    ext, per_image, per_class = _check_automatic_parts(spec)
    if not sources:
        raise ValidationFailed("The dataset has no images; upload a folder or ZIP of images first.")

    seen: dict[str, str] = {}
    placed: list[tuple[str, str, str]] = []  # (folder, rel_path, asset_id)
    for src in sources:
        rel_path = normalize_rel_path(src.rel_path)
        if not rel_path or ".." in rel_path.split("/"):
            raise ValidationFailed(f"Unusable image path {src.rel_path!r} in the dataset.")
        key = _nfc(rel_path)
        if key in seen:
            raise ValidationFailed(
                f"The dataset lists {rel_path!r} twice; each path must be unique."
            )
        seen[key] = rel_path
        placed.append((top_level_folder(rel_path), rel_path, src.asset_id))
    # Root files first, then folder by folder; by path inside each.
    placed.sort(key=lambda item: (item[0] != "", item[0], item[1]))

    base_used = False
    stems = Counter(_stem_key(rel_path) for _, rel_path, _ in placed)
    ordered: list[_Source] = []
    for index, (folder, rel_path, asset_id) in enumerate(placed):
        chosen = per_image.get(_nfc(rel_path))
        if chosen is None:
            chosen = per_class.get(_nfc(folder))
        if chosen is None:
            chosen = spec.prompt
            base_used = True
        ordered.append(
            _Source(
                index=index,
                rel_path=rel_path,
                asset_id=asset_id,
                folder=folder,
                template=chosen,
                keep_source_ext=stems[_stem_key(rel_path)] > 1,
            )
        )
    if base_used:
        validate_template(spec.prompt)

    by_folder: dict[str, list[_Source]] = {}
    for source in ordered:
        by_folder.setdefault(source.folder, []).append(source)
    folders = list(by_folder)
    flat = folders == [""]
    layouts: list[_BatchLayout] = []
    used_slugs: set[str] = set()
    for folder, members in by_folder.items():
        if flat:
            name, slug = FLAT_BATCH
        elif folder == "":
            name, slug = ROOT_BATCH
        else:
            name, slug = folder, slugify(folder)
        slug = _unique_slug(slug, used_slugs)
        template = per_class.get(_nfc(folder), spec.prompt)
        layouts.append(_BatchLayout(name, slug, folder, template, tuple(members)))

    warnings: list[str] = []
    unmatched = sorted(set(per_image) - {_nfc(s.rel_path) for s in ordered})
    if unmatched:
        shown = ", ".join(repr(p) for p in unmatched[:5])
        more = f" and {len(unmatched) - 5} more" if len(unmatched) > 5 else ""
        warnings.append(
            f"{len(unmatched)} per-image prompt(s) match no image in the dataset "
            f"({shown}{more}); those images use the class or base prompt."
        )
    unused_classes = sorted(set(per_class) - {_nfc(f) for f in folders})
    if unused_classes:
        warnings.append(
            "Per-class prompts for folders not in the dataset are ignored: "
            + ", ".join(repr(c) for c in unused_classes)
            + "."
        )
    return ext, layouts, warnings


def _stem_key(rel_path: str) -> str:
    """Sources sharing this key would share output names (`001.jpg` and `001.png`)."""
    return _nfc(posixpath.splitext(rel_path)[0])


def _unique_slug(slug: str, used: set[str]) -> str:
    candidate, n = slug, 2
    while candidate in used:
        candidate = f"{slug}-{n}"
        n += 1
    used.add(candidate)
    return candidate


def _automatic_outputs(
    spec: AutomaticSpec, source: _Source, ext: str, variations: range, first_position: int
) -> tuple[PlannedOutput, ...]:
    filename = posixpath.basename(source.rel_path)
    stem = posixpath.splitext(filename)[0]
    seed_items = f"{json_part(spec.seed)}, {json_part(source.rel_path)}"  # once per source
    name = automatic_output_namer(source.rel_path, ext, keep_source_ext=source.keep_source_ext)
    outputs = []
    for offset, variation in enumerate(variations):
        ctx = PromptContext(
            filename=filename,
            stem=stem,
            folder=source.folder,
            index=source.index,
            variation=variation,
        )
        outputs.append(
            PlannedOutput(
                position=first_position + offset,
                variation=variation,
                prompt=render_prompt(source.template, ctx, seed=spec.seed),
                seed=seed_of_json(f"{seed_items}, {variation}"),  # derive_seed(seed, path, v)
                archive_path=name(variation),
                source_asset_id=source.asset_id,
                source_path=source.rel_path,
            )
        )
    return tuple(outputs)


def plan_automatic(spec: AutomaticSpec, sources: Sequence[SourceImage]) -> Plan:
    """Plan dataset augmentation: each source x `spec.variations`, one source per task.

    Prompt precedence per image: per-image (CSV) > per-class > the base prompt.
    Raises ValidationFailed / TemplateError with a message a user can act on.
    """
    ext, layouts, warnings = _automatic_layout(spec, sources)
    batches: list[PlannedBatch] = []
    archive_paths: dict[str, str] = {}
    position = 0
    for batch_position, layout in enumerate(layouts):
        tasks: list[PlannedTask] = []
        for source in layout.sources:
            for variations in _chunks(spec.variations, spec.outputs_per_task):
                outputs = _automatic_outputs(spec, source, ext, variations, position)
                position += len(outputs)
                for out in outputs:
                    clash = archive_paths.setdefault(out.archive_path, source.rel_path)
                    if clash != source.rel_path:
                        raise ValidationFailed(
                            f"{clash!r} and {source.rel_path!r} would both be saved as "
                            f"{out.archive_path!r}; rename one of them."
                        )
                tasks.append(
                    PlannedTask(
                        position=len(tasks),
                        outputs=outputs,
                        source_asset_id=source.asset_id,
                        source_path=source.rel_path,
                    )
                )
        batches.append(
            PlannedBatch(
                position=batch_position,
                name=layout.name,
                slug=layout.slug,
                prompt=layout.template,
                count=sum(len(t.outputs) for t in tasks),
                tasks=tuple(tasks),
            )
        )
    return Plan(batches=tuple(batches), warnings=tuple(warnings))


def preview_automatic_prompts(
    spec: AutomaticSpec, sources: Sequence[SourceImage], limit: int = 5
) -> list[PlannedOutput]:
    """The first `limit` outputs of the plan, without planning the whole job.

    Validates the spec like `plan_automatic`, so a preview shows the same errors.
    """
    ext, layouts, _ = _automatic_layout(spec, sources)
    preview: list[PlannedOutput] = []
    position = 0
    for layout in layouts:
        for source in layout.sources:
            if len(preview) >= limit:
                return preview
            wanted = min(spec.variations, limit - len(preview))
            preview.extend(_automatic_outputs(spec, source, ext, range(1, wanted + 1), position))
            position += spec.variations
    return preview[: max(limit, 0)]


# ---- semi-automatic ----


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
    ext = _check_common(spec.outputs_per_task, spec.output_format)
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
        _check_template(item.prompt, label, SEMI_AUTO_VARIABLES)

    batches: list[PlannedBatch] = []
    position = 0
    for batch_position, item in enumerate(spec.prompts):
        slug = slugify(item.prompt)
        tasks: list[PlannedTask] = []
        for run_index, numbers in enumerate(_chunks(item.count, spec.outputs_per_task)):
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
