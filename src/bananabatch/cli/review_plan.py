"""`bananabatch review JOB`: the review pass from a terminal.

Rejecting flagged outputs, accepting the rest and regenerating the rejected
slots are separate steps a user can combine; regeneration is priced and
confirmed before anything is queued."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rich.console import Console

from bananabatch.cli.backends import Backend
from bananabatch.datasets.schemas import DatasetLabelsOut
from bananabatch.db.models import ReviewState
from bananabatch.quality.flags import FLAG_LABELS, Flag
from bananabatch.services.queries import JobDetail
from bananabatch.services.review import ReviewIn


@dataclass(frozen=True)
class ReviewPlan:
    reject_ids: list[str]
    accept_ids: list[str]
    reject_flagged: bool
    flags: list[Flag]
    accept_rest: bool
    regenerate: bool


def describe_labels(labels: DatasetLabelsOut) -> list[str]:
    """What was found in a dataset, before the job starts."""
    task = f" {labels.task}" if labels.task else ""
    lines = [f"{labels.format.upper()}{task} dataset"]
    if labels.classes:
        lines.append("classes: " + ", ".join(f"{c.name} ({c.count})" for c in labels.classes))
    if any(s.name for s in labels.splits):
        parts = [
            f"{s.name or '(no split)'} {s.images}"
            + (" augmented" if s.name in labels.default_splits else "")
            for s in labels.splits
        ]
        lines.append("splits: " + ", ".join(parts))
    if labels.unlabelled_count:
        lines.append(f"{labels.unlabelled_count} image(s) without labels")
    if labels.problem_count:
        lines.append(
            f"{labels.problem_count} problem(s); {labels.problem_images} image(s) are kept as "
            "they came and not augmented:"
        )
        lines.extend(f"  {p.message}" for p in labels.problems[:20])
    return lines


def describe(detail: JobDetail) -> list[str]:
    """The job's flags and review state, one line each."""
    q = detail.quality
    lines = [
        f"review: {q.review.get('accepted', 0)} accepted, {q.review.get('rejected', 0)} rejected, "
        f"{q.review.get('unreviewed', 0)} unreviewed"
    ]
    flagged = [f"{n} {FLAG_LABELS[Flag(f)].lower()}" for f, n in q.flags.items() if n]
    lines.append(
        "flags: " + (", ".join(flagged) if flagged else "none") + f" ({q.flagged} outputs)"
    )
    return lines


def run_review(
    backend: Backend,
    job_id: str,
    plan: ReviewPlan,
    out: Console,
    confirm: Callable[[str], bool],
) -> int:
    """Apply the plan in order (reject, accept, accept the rest, regenerate); returns
    how many outputs were queued again."""
    steps: list[tuple[str, ReviewIn]] = []
    if plan.reject_ids:
        steps.append(
            ("rejected", ReviewIn(decision=ReviewState.rejected, output_ids=plan.reject_ids))
        )
    if plan.reject_flagged:
        steps.append(
            ("rejected (flagged)", ReviewIn(decision=ReviewState.rejected, flags=plan.flags))
        )
    if plan.accept_ids:
        steps.append(
            ("accepted", ReviewIn(decision=ReviewState.accepted, output_ids=plan.accept_ids))
        )
    if plan.accept_rest:
        rest = ReviewIn(decision=ReviewState.accepted, all_outputs=True, only_unreviewed=True)
        steps.append(("accepted (the rest)", rest))
    for label, body in steps:
        done = backend.review(job_id, body)
        out.print(f"{done.updated} output(s) {label}")
    for line in describe(backend.detail(job_id)):
        out.print(line)
    if not plan.regenerate:
        return 0
    price = backend.regenerate_estimate(job_id)
    if price.outputs == 0:
        out.print("No rejected output to generate again.")
        return 0
    question = (
        f"Generate {price.outputs} rejected output(s) again for about ${price.cost_usd:.2f} "
        f"(${price.price_per_image:.3f} each)?"
    )
    if not confirm(question):
        out.print("Nothing was queued.")
        return 0
    n = backend.regenerate(job_id, price.outputs)
    out.print(f"{n} rejected output(s) queued again")
    return n
