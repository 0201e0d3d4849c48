"""Output views: one output, and pages of a job's outputs with their flags."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from bananabatch.db.models import (
    Job,
    Output,
    OutputFlag,
    OutputStatus,
    ReviewState,
)
from bananabatch.errors import NotFound, ValidationFailed
from bananabatch.quality.flags import FLAG_LABELS, Flag
from bananabatch.quality.service import flags_by_output
from bananabatch.services.queries.jobs import last_change_seq
from bananabatch.services.queries.paging import (
    asset_image_url,
    asset_thumbnail_url,
    check_limit,
    decode_cursor,
    encode_cursor,
    output_version,
)
from bananabatch.services.queries.views import (
    API_PREFIX,
    MAX_OFFSET,
    LabelBoxOut,
    OutputFlagOut,
    OutputOut,
    OutputPage,
)


def output_out(o: Output, flags: list[tuple[str, str]] | None = None) -> OutputOut:
    has_image = o.status == OutputStatus.succeeded and o.storage_key is not None
    version = output_version(o.finished_at, o.regenerations)
    return OutputOut(
        id=o.id,
        job_id=o.job_id,
        batch_id=o.batch_id,
        task_id=o.task_id,
        position=o.position,
        run_index=o.run_index,
        variation=o.variation,
        source_path=o.source_path,
        source_asset_id=o.source_asset_id,
        archive_path=o.archive_path,
        prompt=o.prompt,
        model=o.model,
        seed=o.seed,
        attempt=o.attempt,
        status=OutputStatus(o.status),
        error_kind=o.error_kind,
        error=o.error,
        mime_type=o.mime_type,
        width=o.width,
        height=o.height,
        cost=o.cost,
        duration_ms=o.duration_ms,
        created_at=o.created_at,
        finished_at=o.finished_at,
        image_url=f"{API_PREFIX}/outputs/{o.id}/image?v={version}" if has_image else None,
        thumbnail_url=f"{API_PREFIX}/outputs/{o.id}/thumbnail?v={version}" if has_image else None,
        source_image_url=asset_image_url(o.source_asset_id) if o.source_asset_id else None,
        source_thumbnail_url=asset_thumbnail_url(o.source_asset_id) if o.source_asset_id else None,
        flags=[
            OutputFlagOut(flag=Flag(f), label=FLAG_LABELS[Flag(f)], detail=d)
            for f, d in flags or []
        ],
        review=ReviewState(o.review or ReviewState.unreviewed),
        regenerations=o.regenerations or 0,
        label_count=len(o.labels) if o.labels is not None else None,
        labels=[LabelBoxOut(class_id=b["class_id"], bbox=list(b["bbox"])) for b in o.labels]
        if o.labels is not None
        else None,
        transform=list((o.transform or {}).get("steps") or []),
    )


def output_with_flags(session: Session, o: Output) -> OutputOut:
    return output_out(o, flags_by_output(session, [o.id]).get(o.id))


def list_outputs(
    session: Session,
    job_id: str,
    *,
    cursor: str | None = None,
    since: str | None = None,
    limit: int = 100,
    batch_id: str | None = None,
    status: Sequence[str] | None = None,
    source: str | None = None,
    review: Sequence[str] | None = None,
    flag: Sequence[str] | None = None,
) -> OutputPage:
    """Outputs in job order, keyset-paginated on (position, id): stable while the job runs.
    `flag` keeps outputs with any of these flags ("any": with any flag at all).
    `since` (a page's `changes_cursor`) answers only the outputs changed after it."""
    check_limit(limit)
    if session.scalar(select(Job.id).where(Job.id == job_id)) is None:
        raise NotFound(f"Job {job_id} does not exist.", details={"job_id": job_id})
    filtered = bool(batch_id or status or source or review or flag)
    if since is not None:
        if filtered or cursor:
            raise ValidationFailed(
                "`since` answers every changed output of the job: it cannot be combined "
                "with `cursor` or filters (batch_id, status, source, review, flag)."
            )
        return _changed_outputs(session, job_id, since, limit)
    # Read before the rows: whatever changes after this is numbered above it.
    high_water = None if filtered or cursor else last_change_seq(session, job_id)
    query = select(Output).where(Output.job_id == job_id)
    if batch_id:
        query = query.where(Output.batch_id == batch_id)
    if status:
        unknown = sorted(set(status) - {s.value for s in OutputStatus})
        if unknown:
            raise ValidationFailed(
                f"Unknown output status {', '.join(unknown)}; "
                f"use one of {', '.join(s.value for s in OutputStatus)}."
            )
        query = query.where(Output.status.in_(list(status)))
    if source:
        query = query.where(or_(Output.source_path == source, Output.source_asset_id == source))
    if review:
        query = query.where(Output.review.in_(list(review)))
    if flag:
        flagged = select(OutputFlag.output_id).where(OutputFlag.job_id == job_id)
        named = [f for f in flag if f != "any"]
        if len(named) == len(flag):
            flagged = flagged.where(OutputFlag.flag.in_(named))
        query = query.where(Output.id.in_(flagged))
    if cursor:
        raw_pos, last_id = decode_cursor(cursor, 2)
        try:
            pos = int(raw_pos)
        except ValueError as exc:
            raise ValidationFailed("The cursor is not valid; start again without one.") from exc
        if not 0 <= pos <= MAX_OFFSET:  # a forged position would overflow the DB integer
            raise ValidationFailed(
                "The cursor is not valid; start again without one.", details={"cursor": cursor}
            )
        query = query.where(
            or_(Output.position > pos, and_(Output.position == pos, Output.id > last_id))
        )
    rows = session.scalars(query.order_by(Output.position, Output.id).limit(limit + 1)).all()
    flags = flags_by_output(session, [o.id for o in rows[:limit]])
    items = [output_out(o, flags.get(o.id)) for o in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor(last.position, last.id)
    changes = encode_cursor(CHANGES, high_water, "") if high_water is not None else None
    return OutputPage(items=items, next_cursor=next_cursor, changes_cursor=changes)


CHANGES = "changes"


def _decode_since(since: str) -> tuple[int, str]:
    kind, raw_seq, last_id = decode_cursor(since, 3)
    try:
        seq = int(raw_seq)
    except ValueError:
        seq = -1
    if kind != CHANGES or not 0 <= seq <= MAX_OFFSET:
        raise ValidationFailed(
            "`since` is not a changes cursor; pass a page's `changes_cursor`.",
            details={"since": since},
        )
    return seq, last_id


def _changed_outputs(session: Session, job_id: str, since: str, limit: int) -> OutputPage:
    """Outputs in change order after the cursor: (change_seq, id) keyset, so an answer
    cut at `limit` resumes exactly where it stopped."""
    seq, last_id = _decode_since(since)
    high_water = last_change_seq(session, job_id)  # before the rows, as for pages
    after = Output.change_seq > seq
    if last_id:
        after = or_(after, and_(Output.change_seq == seq, Output.id > last_id))
    rows = session.scalars(
        select(Output)
        .where(Output.job_id == job_id, after)
        .order_by(Output.change_seq, Output.id)
        .limit(limit + 1)
    ).all()
    page = rows[:limit]
    flags = flags_by_output(session, [o.id for o in page])
    items = [output_out(o, flags.get(o.id)) for o in page]
    if len(rows) > limit:
        last = page[-1]
        return OutputPage(
            items=items,
            next_cursor=None,
            changes_cursor=encode_cursor(CHANGES, last.change_seq, last.id),
            more_changes=True,
        )
    # Rows numbered above the high-water mark committed before the rows were read, and
    # SQLite numbers them in commit order: nothing at or below the top one is unseen.
    top = max([high_water, seq, *(o.change_seq for o in page)])
    return OutputPage(items=items, next_cursor=None, changes_cursor=encode_cursor(CHANGES, top, ""))


def get_output(session: Session, output_id: str) -> Output:
    output = session.get(Output, output_id)
    if output is None:
        raise NotFound(f"Output {output_id} does not exist.", details={"output_id": output_id})
    return output
