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
from bananabatch.quality.service import flags_by_output
from bananabatch.services.queries.changes import (
    changed_outputs,
    changed_outputs_json,
    changes_cursor,
)
from bananabatch.services.queries.jobs import last_change_seq
from bananabatch.services.queries.output_view import output_out
from bananabatch.services.queries.paging import (
    check_limit,
    decode_cursor,
    encode_cursor,
)
from bananabatch.services.queries.views import (
    MAX_OFFSET,
    OutputPage,
)


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
    filtered = bool(batch_id or status or source or review or flag)
    _check(session, job_id, limit, since_with=filtered or bool(cursor) if since else None)
    if since is not None:
        return changed_outputs(session, job_id, since, limit)
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
    changes = changes_cursor(high_water) if high_water is not None else None
    return OutputPage(items=items, next_cursor=next_cursor, changes_cursor=changes)


def output_changes_json(
    session: Session, job_id: str, since: str, limit: int, *, with_others: bool
) -> bytes:
    """`list_outputs(since=...)` as the JSON the API sends (`with_others`: the request
    also carried a cursor or filters, which `since` refuses)."""
    _check(session, job_id, limit, since_with=with_others)
    return changed_outputs_json(session, job_id, since, limit)


def _check(session: Session, job_id: str, limit: int, *, since_with: bool | None) -> None:
    """The job exists, the limit is sane, `since` (if given) comes alone."""
    check_limit(limit)
    if session.scalar(select(Job.id).where(Job.id == job_id)) is None:
        raise NotFound(f"Job {job_id} does not exist.", details={"job_id": job_id})
    if since_with:
        raise ValidationFailed(
            "`since` answers every changed output of the job: it cannot be combined "
            "with `cursor` or filters (batch_id, status, source, review, flag)."
        )


def get_output(session: Session, output_id: str) -> Output:
    output = session.get(Output, output_id)
    if output is None:
        raise NotFound(f"Output {output_id} does not exist.", details={"output_id": output_id})
    return output
