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

from sqlalchemy import delete, func, or_, select
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


def record_output(s: Session, job: Job, output: Output, slot: SlotResult) -> None:
    """Keep the worker's labels, transform and checks for a stored output, and flag it."""
    output.labels = (
        [o.model_dump(mode="json") for o in slot.labels.objects] if slot.labels else None
    )
    output.transform = slot.transform.model_dump(mode="json") if slot.transform else None
    output.quality = slot.checks.model_dump(mode="json") if slot.checks else None
    output.review = ReviewState.unreviewed
    output.reviewed_at = None
    try:
        refresh_flags(s, job, output)
    except Exception:  # flags are advice: never lose a paid-for image over them
        log.exception("quality flags for output %s could not be decided", output.id)


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
    s: Session, job: Job, output: Output
) -> tuple[tuple[int, int] | None, float | None]:
    options = job.options or {}
    if options.get("fit_to_source") and output.source_asset_id:
        asset = s.get(Asset, output.source_asset_id)
        if asset is not None:
            return (asset.width, asset.height), None
    aspect = options.get("aspect_ratio")
    return None, ratio_value(str(aspect)) if aspect else None


def _siblings(s: Session, job: Job, output: Output) -> list[tuple[str, int, dict[str, Any]]]:
    # No `job_id` term: a batch and a task belong to one job, and with it SQLite would
    # walk (job_id, status) — every succeeded output of the job, once per output.
    query = select(Output.id, Output.variation, Output.quality).where(
        Output.id != output.id,
        Output.status == OutputStatus.succeeded,
        Output.quality.is_not(None),
    )
    if job.mode == Mode.automatic and output.source_asset_id:
        query = query.where(
            Output.batch_id == output.batch_id, Output.source_asset_id == output.source_asset_id
        )
    else:
        query = query.where(Output.task_id == output.task_id)
    return [(i, v, q) for i, v, q in s.execute(query).all()]


def refresh_flags(s: Session, job: Job, output: Output) -> list[Finding]:
    """Decide this output's flags again (siblings get a near-duplicate flag back)."""
    clear_flags(s, [output.id])
    findings: list[Finding] = []
    expected, aspect = _expected_size(s, job, output)
    size = wrong_size(output.width, output.height, expected_size=expected, expected_aspect=aspect)
    if size is not None:
        findings.append(size)
    checks = OutputChecks.model_validate(output.quality) if output.quality else None
    if checks is not None:
        findings.extend(f for f in (near_identical(checks), label_unsafe(checks)) if f)
        for other_id, variation, quality in _siblings(s, job, output):
            if near_duplicate(checks, OutputChecks.model_validate(quality)):
                name = "variation" if job.mode == Mode.automatic else "image"
                findings.append(
                    Finding(Flag.near_duplicate, f"near-duplicate of {name} {variation}", other_id)
                )
                s.add(
                    OutputFlag(
                        job_id=job.id,
                        output_id=other_id,
                        flag=Flag.near_duplicate,
                        detail=f"near-duplicate of {name} {output.variation}",
                        other_output_id=output.id,
                    )
                )
    for f in findings:
        s.add(
            OutputFlag(
                job_id=job.id,
                output_id=output.id,
                flag=f.flag,
                detail=f.detail,
                other_output_id=f.other_output_id,
            )
        )
    return findings


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
