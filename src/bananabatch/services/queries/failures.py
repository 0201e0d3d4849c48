"""Failed outputs by error kind: which a retry may fix and which will fail again.

A retry sends the same request, so an error the retry policy calls permanent
(an invalid request, an internal error, a safety block) comes back the same;
the user is told before and after retrying instead of paying to learn it.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bananabatch.contracts import PERMANENT_KINDS
from bananabatch.db.models import Output, OutputStatus
from bananabatch.services.queries.views import (
    FailureGroup,
    FailureSummary,
)

_PERMANENT = frozenset(k.value for k in PERMANENT_KINDS)
_KIND_WORDS = {
    "invalid": "the request was refused as invalid",
    "internal": "an internal error that repeats with the same input",
    "blocked": "blocked by the model's safety filter",
}


def summarize(rows: Sequence[tuple[str | None, int, str | None]]) -> FailureSummary:
    """(error kind, count, an example message) rows -> the summary (pure); rows of one
    kind (from several batches) are merged."""
    merged: dict[str, tuple[int, str | None]] = {}
    for kind, n, example in rows:
        key = kind or "unknown"
        count, first = merged.get(key, (0, None))
        merged[key] = (count + int(n), first or example)
    groups = [
        FailureGroup(kind=kind, count=n, permanent=kind in _PERMANENT, example=example)
        for kind, (n, example) in merged.items()
    ]
    groups.sort(key=lambda g: (not g.permanent, -g.count, g.kind))
    permanent = sum(g.count for g in groups if g.permanent)
    retryable = sum(g.count for g in groups if not g.permanent)
    message = None
    if permanent:
        parts = [
            f"{g.count} {_KIND_WORDS.get(g.kind, g.kind)}"
            + (f" ({g.example})" if g.example else "")
            for g in groups
            if g.permanent
        ]
        message = (
            f"{permanent} of {permanent + retryable} failed output(s) will fail again if "
            f"retried unchanged: {'; '.join(parts)}. Change the prompt or the input instead."
        )
    return FailureSummary(retryable=retryable, permanent=permanent, groups=groups, message=message)


def failure_summary(
    session: Session,
    job_id: str,
    output_ids: Sequence[str] | None = None,
) -> FailureSummary:
    """The job's failed outputs (or, with `output_ids`, those failed or blocked among
    them: what `retry_failed` would re-queue), grouped by error kind in one query."""
    query = select(Output.error_kind, func.count(), func.min(Output.error)).where(
        Output.job_id == job_id
    )
    if output_ids:
        query = query.where(
            Output.id.in_(list(output_ids)),
            Output.status.in_([OutputStatus.failed, OutputStatus.blocked]),
        )
    else:
        query = query.where(Output.status == OutputStatus.failed)
    rows = session.execute(query.group_by(Output.error_kind)).all()
    return summarize([(k, int(n), e) for k, n, e in rows])
