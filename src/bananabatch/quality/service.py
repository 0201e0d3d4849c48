"""Quality flags in the database: recorded when an output's image is stored.

`record_output` is the one call the settle path makes: it keeps what the worker
measured and carried (labels in the output's frame, the transform, the checks)
and decides the output's flags, comparing it with its siblings (the other
variations of its source, or the other images of its run). Cheap: a few small
queries, no image is read.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.orm import Session

from bananabatch.contracts import Mode, OutputChecks, SlotResult
from bananabatch.db.models import (
    Asset,
    Job,
    Output,
    OutputFlag,
    OutputStatus,
    ReviewState,
)
from bananabatch.quality.fit import ratio_value
from bananabatch.quality.flags import (
    Finding,
    Flag,
    label_unsafe,
    near_duplicate,
    near_identical,
    wrong_size,
)

log = logging.getLogger(__name__)


Recorded = tuple[Job, Output, SlotResult]


def record_output(s: Session, job: Job, output: Output, slot: SlotResult) -> None:
    """Keep the worker's labels, transform and checks for a stored output, and flag it."""
    record_outputs(s, [(job, output, slot)])


def record_outputs(s: Session, items: list[Recorded]) -> None:
    """`record_output` for a whole settle round, in a few statements instead of a few
    per output: one delete of the old flags, one read of the siblings of every source
    (or task) the round touches, one insert of the new flags. Outputs of the same round
    are each other's siblings in the order given, as if recorded one by one."""
    if not items:
        return
    for _, output, slot in items:
        output.labels = (
            [o.model_dump(mode="json") for o in slot.labels.objects] if slot.labels else None
        )
        output.transform = slot.transform.model_dump(mode="json") if slot.transform else None
        output.quality = slot.checks.model_dump(mode="json") if slot.checks else None
        output.review = ReviewState.unreviewed
        output.reviewed_at = None
    try:
        with s.begin_nested():  # flags are advice: never lose a paid-for image over them
            rows = _decide_flags(s, [(job, output) for job, output, _ in items])
            if rows:
                s.connection().execute(insert(OutputFlag), rows)
    except Exception:
        log.exception("quality flags for %d output(s) could not be decided", len(items))


def clear_flags(s: Session, output_ids: list[str]) -> None:
    """Forget the flags of these outputs, and the near-duplicate flags naming them."""
    if not output_ids:
        return
    s.execute(
        delete(OutputFlag).where(
            or_(OutputFlag.output_id.in_(output_ids), OutputFlag.other_output_id.in_(output_ids))
        )
    )


def _expected_size(
    job: Job, output: Output, assets: dict[str, tuple[int | None, int | None]]
) -> tuple[tuple[int, int] | None, float | None]:
    options = job.options or {}
    if options.get("fit_to_source") and output.source_asset_id:
        size = assets.get(output.source_asset_id)
        if size is not None:
            return size, None  # type: ignore[return-value]
    aspect = options.get("aspect_ratio")
    return None, ratio_value(str(aspect)) if aspect else None


Group = tuple[str, str, str | None]
Sibling = tuple[str, int, OutputChecks]


def _group(job: Job, output: Output) -> Group:
    """The outputs an output is compared with: the other variations of its source in
    its batch (dataset jobs), else the other images of its task."""
    if job.mode == Mode.automatic and output.source_asset_id:
        return ("source", output.batch_id, output.source_asset_id)
    return ("task", output.task_id, None)


def _siblings(s: Session, groups: set[Group], exclude: set[str]) -> dict[Group, list[Sibling]]:
    """Succeeded, measured outputs of each group (two queries at most for a round)."""
    found: dict[Group, list[Sibling]] = {g: [] for g in groups}
    base = select(
        Output.id,
        Output.variation,
        Output.quality,
        Output.batch_id,
        Output.source_asset_id,
        Output.task_id,
    ).where(Output.status == OutputStatus.succeeded, Output.quality.is_not(None))
    by_source = [g for g in groups if g[0] == "source"]
    by_task = [g[1] for g in groups if g[0] == "task"]
    queries = []
    # No `job_id` term: SQLite would walk (job_id, status), every succeeded output of
    # the job; (batch_id, source_asset_id) and task_id are indexed.
    if by_source:
        queries.append(
            base.where(
                Output.batch_id.in_({g[1] for g in by_source}),
                Output.source_asset_id.in_({g[2] for g in by_source}),
            )
        )
    if by_task:
        queries.append(base.where(Output.task_id.in_(by_task)))
    for query in queries:
        for oid, variation, quality, batch_id, source_id, task_id in s.execute(query).all():
            if oid in exclude:
                continue
            for group in (("source", batch_id, source_id), ("task", task_id, None)):
                if group in found:
                    found[group].append((oid, variation, OutputChecks.model_validate(quality)))
    return found


def _decide_flags(s: Session, items: list[tuple[Job, Output]]) -> list[dict[str, Any]]:
    """Clear and decide the flags of these outputs (siblings get a near-duplicate flag
    back); the rows to insert."""
    ids = [output.id for _, output in items]
    clear_flags(s, ids)
    fitted = {
        o.source_asset_id
        for job, o in items
        if o.source_asset_id and (job.options or {}).get("fit_to_source")
    }
    assets: dict[str, tuple[int | None, int | None]] = {}
    if fitted:
        assets = {
            a: (w, h)
            for a, w, h in s.execute(
                select(Asset.id, Asset.width, Asset.height).where(Asset.id.in_(fitted))
            ).all()
        }
    groups = {_group(job, o) for job, o in items if o.quality}
    siblings = _siblings(s, groups, set(ids)) if groups else {}
    rows: list[dict[str, Any]] = []
    for job, output in items:

        def add(output_id: str, finding: Finding, job_id: str = job.id) -> None:
            rows.append(
                {
                    "job_id": job_id,
                    "output_id": output_id,
                    "flag": finding.flag.value,
                    "detail": finding.detail,
                    "other_output_id": finding.other_output_id,
                }
            )

        expected, aspect = _expected_size(job, output, assets)
        size = wrong_size(
            output.width, output.height, expected_size=expected, expected_aspect=aspect
        )
        if size is not None:
            add(output.id, size)
        if not output.quality:
            continue
        checks = OutputChecks.model_validate(output.quality)
        for f in (near_identical(checks), label_unsafe(checks)):
            if f is not None:
                add(output.id, f)
        name = "variation" if job.mode == Mode.automatic else "image"
        group = siblings[_group(job, output)]
        for other_id, variation, other in group:
            if near_duplicate(checks, other):
                detail = f"near-duplicate of {name} {variation}"
                add(output.id, Finding(Flag.near_duplicate, detail, other_id))
                back = f"near-duplicate of {name} {output.variation}"
                add(other_id, Finding(Flag.near_duplicate, back, output.id))
        group.append((output.id, output.variation, checks))  # for later round-mates
    return rows


def flags_by_output(s: Session, output_ids: list[str]) -> dict[str, list[tuple[str, str]]]:
    """(flag, detail) pairs per output, in a stable order."""
    out: dict[str, list[tuple[str, str]]] = {}
    if not output_ids:
        return out
    rows = s.execute(
        select(OutputFlag.output_id, OutputFlag.flag, OutputFlag.detail)
        .where(OutputFlag.output_id.in_(output_ids))
        .order_by(OutputFlag.output_id, OutputFlag.flag, OutputFlag.id)
    ).all()
    for output_id, flag, detail in rows:
        out.setdefault(output_id, []).append((flag, detail))
    return out


def flag_summary(s: Session, job_id: str) -> tuple[dict[str, int], int]:
    """(outputs carrying each flag, outputs with any flag), from one query; an output
    with two near-duplicates counts once."""
    pairs = s.execute(
        select(OutputFlag.output_id, OutputFlag.flag).where(OutputFlag.job_id == job_id).distinct()
    ).all()
    counts = {f.value: 0 for f in Flag}
    for _, flag in pairs:
        counts[flag] = counts.get(flag, 0) + 1
    return counts, len({output_id for output_id, _ in pairs})


def review_counts(s: Session, job_id: str) -> dict[str, int]:
    """Succeeded outputs by review state."""
    rows = s.execute(
        select(Output.review, func.count())
        .where(Output.job_id == job_id, Output.status == OutputStatus.succeeded)
        .group_by(Output.review)
    ).all()
    counts = {r.value: 0 for r in ReviewState}
    counts.update({state: int(n) for state, n in rows})
    return counts
