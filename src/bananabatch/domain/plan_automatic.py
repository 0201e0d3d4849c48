"""The automatic planner: every source image x V variations, at most
`outputs_per_task` outputs per task and one source per task (its bytes travel once);
one batch per top-level dataset folder (class), or one batch for a flat dataset. Pure.

A 100,000-output job is planned here, so the per-output work is kept to what the
output needs: each template is checked and parsed once (`TemplateRenderer`), and a
source's name, seed material and fixed prompt text are prepared once for all its
variations.
"""

from __future__ import annotations

import posixpath
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from bananabatch.domain.naming import automatic_output_namer, normalize_rel_path, slugify
from bananabatch.domain.plan import (
    FLAT_BATCH,
    MAX_VARIATIONS,
    ROOT_BATCH,
    AutomaticSpec,
    Plan,
    PlannedBatch,
    PlannedOutput,
    PlannedTask,
    SourceImage,
    check_common,
    check_template,
    nfc,
    top_level_folder,
)
from bananabatch.domain.prompt_renderer import TemplateRenderer, WildcardPicker
from bananabatch.domain.seeds import json_part, seed_of_json
from bananabatch.domain.templating import normalize_prompt_path, validate_template
from bananabatch.errors import ValidationFailed


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


def _check_automatic_parts(spec: AutomaticSpec) -> tuple[str, dict[str, str], dict[str, str]]:
    """The checks that need no dataset: variations, format, per-image and per-class
    templates. Returns (output extension, per-image and per-class templates by key)."""
    if not 1 <= spec.variations <= MAX_VARIATIONS:
        raise ValidationFailed(
            f"variations must be between 1 and {MAX_VARIATIONS}; got {spec.variations}."
        )
    ext = check_common(spec.outputs_per_task, spec.output_format)
    per_image = {normalize_prompt_path(p): t for p, t in spec.per_image_prompts.items()}
    per_class = {nfc(k.strip()): t for k, t in spec.per_class_prompts.items()}
    for path, template in sorted(per_image.items()):
        check_template(template, f"Prompt for image {path!r}")
    for folder, template in sorted(per_class.items()):
        check_template(template, f"Prompt for class {folder!r}")
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
        key = nfc(rel_path)
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
        chosen = per_image.get(nfc(rel_path))
        if chosen is None:
            chosen = per_class.get(nfc(folder))
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
        template = per_class.get(nfc(folder), spec.prompt)
        layouts.append(_BatchLayout(name, slug, folder, template, tuple(members)))

    warnings: list[str] = []
    unmatched = sorted(set(per_image) - {nfc(s.rel_path) for s in ordered})
    if unmatched:
        shown = ", ".join(repr(p) for p in unmatched[:5])
        more = f" and {len(unmatched) - 5} more" if len(unmatched) > 5 else ""
        warnings.append(
            f"{len(unmatched)} per-image prompt(s) match no image in the dataset "
            f"({shown}{more}); those images use the class or base prompt."
        )
    unused_classes = sorted(set(per_class) - {nfc(f) for f in folders})
    if unused_classes:
        warnings.append(
            "Per-class prompts for folders not in the dataset are ignored: "
            + ", ".join(repr(c) for c in unused_classes)
            + "."
        )
    return ext, layouts, warnings


def _stem_key(rel_path: str) -> str:
    """Sources sharing this key would share output names (`001.jpg` and `001.png`)."""
    return nfc(posixpath.splitext(rel_path)[0])


def _unique_slug(slug: str, used: set[str]) -> str:
    candidate, n = slug, 2
    while candidate in used:
        candidate = f"{slug}-{n}"
        n += 1
    used.add(candidate)
    return candidate


class _Renderers:
    """One `TemplateRenderer` per distinct template of the job, sharing one picker."""

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._picker = WildcardPicker()
        self._by_template: dict[str, TemplateRenderer] = {}

    def __call__(self, template: str) -> TemplateRenderer:
        renderer = self._by_template.get(template)
        if renderer is None:
            renderer = TemplateRenderer(template, self._seed, self._picker)
            self._by_template[template] = renderer
        return renderer


def _source_outputs(
    spec: AutomaticSpec,
    source: _Source,
    ext: str,
    renderer: TemplateRenderer,
    variations: range,
    first_position: int,
) -> list[PlannedOutput]:
    """The outputs of `source` for `variations`, numbered from `first_position`."""
    rel_path = source.rel_path
    filename = posixpath.basename(rel_path)
    prompt = renderer.for_source(
        filename=filename,
        stem=posixpath.splitext(filename)[0],
        folder=source.folder,
        index=source.index,
    )
    seed_items = f"{json_part(spec.seed)}, {json_part(rel_path)}, "  # once per source
    name = automatic_output_namer(rel_path, ext, keep_source_ext=source.keep_source_ext)
    asset_id = source.asset_id
    return [
        PlannedOutput(
            position=first_position + offset,
            variation=variation,
            prompt=prompt(variation),
            seed=seed_of_json(f"{seed_items}{variation}"),  # derive_seed(seed, path, v)
            archive_path=name(variation),
            source_asset_id=asset_id,
            source_path=rel_path,
        )
        for offset, variation in enumerate(variations)
    ]


def plan_automatic(spec: AutomaticSpec, sources: Sequence[SourceImage]) -> Plan:
    """Plan dataset augmentation: each source x `spec.variations`, one source per task.

    Prompt precedence per image: per-image (CSV) > per-class > the base prompt.
    Raises ValidationFailed / TemplateError with a message a user can act on.
    """
    ext, layouts, warnings = _automatic_layout(spec, sources)
    renderers = _Renderers(spec.seed)
    variations = range(1, spec.variations + 1)
    per_task = spec.outputs_per_task
    batches: list[PlannedBatch] = []
    archive_paths: dict[str, str] = {}
    position = 0
    for batch_position, layout in enumerate(layouts):
        tasks: list[PlannedTask] = []
        for source in layout.sources:
            rel_path = source.rel_path
            renderer = renderers(source.template)
            outputs = _source_outputs(spec, source, ext, renderer, variations, position)
            position += len(outputs)
            for out in outputs:
                clash = archive_paths.setdefault(out.archive_path, rel_path)
                if clash != rel_path:
                    raise ValidationFailed(
                        f"{clash!r} and {rel_path!r} would both be saved as "
                        f"{out.archive_path!r}; rename one of them."
                    )
            for start in range(0, len(outputs), per_task):
                tasks.append(
                    PlannedTask(
                        position=len(tasks),
                        outputs=tuple(outputs[start : start + per_task]),
                        source_asset_id=source.asset_id,
                        source_path=rel_path,
                    )
                )
        batches.append(
            PlannedBatch(
                position=batch_position,
                name=layout.name,
                slug=layout.slug,
                prompt=layout.template,
                count=len(layout.sources) * spec.variations,
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
    renderers = _Renderers(spec.seed)
    preview: list[PlannedOutput] = []
    position = 0
    for layout in layouts:
        for source in layout.sources:
            if len(preview) >= limit:
                return preview
            wanted = range(1, min(spec.variations, limit - len(preview)) + 1)
            renderer = renderers(source.template)
            preview.extend(_source_outputs(spec, source, ext, renderer, wanted, position))
            position += spec.variations
    return preview[: max(limit, 0)]
