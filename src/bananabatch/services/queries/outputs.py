"""Pages of a job's outputs with their flags, and one output by id."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from bananabatch.db.models import (
    Job,
    Output,
    OutputFlag,
    OutputStatus,
)
from bananabatch.errors import NotFound, ValidationFailed
from bananabatch.services.queries.changes import changed_outputs_json, changes_cursor
from bananabatch.services.queries.output_json import outputs_json, page_json
from bananabatch.services.queries.paging import (
    check_limit,
    decode_cursor,
    encode_cursor,
)
from bananabatch.services.queries.poll_state import last_change_seq
from bananabatch.services.queries.views import (
    MAX_OFFSET,
)


def list_outputs_json(
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
) -> bytes:
    """Outputs in job order, keyset-paginated on (position, id): stable while the job runs;
    an `OutputPage` as the JSON the API sends (each output's JSON kept between polls).
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
        return changed_outputs_json(session, job_id, since, limit)
    # Read before the rows: whatever changes after this is numbered above it.
    high_water = None if filtered or cursor else last_change_seq(session, job_id)
    query = select(Output.id, Output.change_seq, Output.position).where(Output.job_id == job_id)
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
    rows = session.execute(query.order_by(Output.position, Output.id).limit(limit + 1)).all()
    bodies = outputs_json(session, [(i, seq) for i, seq, _ in rows[:limit]])
    items = [bodies[i] for i, _, _ in rows[:limit] if i in bodies]
    next_cursor = None
    if len(rows) > limit:
        last_id, _, position = rows[limit - 1]
        next_cursor = encode_cursor(position, last_id)
    changes = changes_cursor(high_water) if high_water is not None else None
    return page_json(items, next_cursor, changes)


def get_output(session: Session, output_id: str) -> Output:
    output = session.get(Output, output_id)
    if output is None:
        raise NotFound(f"Output {output_id} does not exist.", details={"output_id": output_id})
    return output
