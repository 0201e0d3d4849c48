"""The job's recipe as `bananabatch jobs show` prints it: every prompt, reference,
model option and the seed, so a job can be understood (and redone) from the terminal."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from bananabatch.services.queries.views import (
    JobDetail,
)

_CSV_ROWS_SHOWN = 20


def _prompt_lines(label: str, text: str) -> list[str]:
    """`label: first line`, further lines indented (a prompt may span lines)."""
    lines = text.splitlines() or [""]
    return [f"{label}: {escape(lines[0])}", *(f"    {escape(line)}" for line in lines[1:])]


def recipe_lines(job: JobDetail) -> list[str]:
    """The recipe, line by line (rich markup escaped)."""
    r = job.recipe
    lines = ["[bold]recipe[/bold]"]
    if r.prompt is not None:
        lines += ["  " + x for x in _prompt_lines("prompt", r.prompt)]
    for i, p in enumerate(r.prompts, 1):
        lines += ["  " + x for x in _prompt_lines(f"prompt {i} (x{p.count})", p.prompt)]
    for cls, text in sorted(r.per_class_prompts.items()):
        lines += ["  " + x for x in _prompt_lines(f"class {cls or '(root)'}", text)]
    if r.per_image_prompt_count:
        lines.append(f"  per-image prompts (prompts CSV): {r.per_image_prompt_count} row(s)")
        for row in r.per_image_prompts[:_CSV_ROWS_SHOWN]:
            lines.append(f"    {escape(row.path)}: {escape(row.prompt)}")
        if r.per_image_prompt_count > _CSV_ROWS_SHOWN:
            lines.append(f"    ... {r.per_image_prompt_count - _CSV_ROWS_SHOWN} more")
    if r.references:
        lines.append(f"  references: {len(r.references)} (the model uses {r.references_used})")
        for ref in r.references:
            note = "" if ref.used else "  (ignored by this model)"
            lines.append(f"    {ref.asset_id}{note}")
    if r.reference_warning:
        lines.append(f"  [yellow]note: {escape(r.reference_warning)}[/yellow]")
    size = r.image_size or "model default"
    aspect = r.aspect_ratio or ("each source's own" if r.fit_to_source else "model default")
    lines.append(f"  model: {escape(r.model_name)} ({r.model}, {r.provider})")
    lines.append(
        f"  size: {size} · aspect ratio: {aspect} · format: {r.output_format} · seed: {r.seed}"
    )
    extras = []
    if r.variations is not None:
        extras.append(f"variations: {r.variations}")
    if r.splits:
        extras.append(f"splits: {', '.join(r.splits)}")
    if r.fit_to_source:
        extras.append("outputs fitted to their source's size")
    extras.append(f"originals in export: {'yes' if r.include_originals else 'no'}")
    if r.route == "batch":
        extras.append("Gemini Batch API")
    lines.append("  " + " · ".join(extras))
    return lines


def print_recipe(console: Console, job: JobDetail) -> None:
    for line in recipe_lines(job):
        console.print(line, soft_wrap=True)


def retry_lines(job: JobDetail) -> list[str]:
    """Before a job-level retry: what will be re-queued and what will fail again."""
    f = job.failures
    if not f.permanent:
        return []
    return [f"[yellow]warning: {escape(f.message or '')}[/yellow]"]
