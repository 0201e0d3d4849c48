"""The spend ledger, summed: by day, job or model (read side of `SpendEntry`)."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from bananabatch.db.models import Job, SpendEntry

GroupBy = Literal["day", "job", "model"]


class SpendRow(BaseModel):
    key: str = Field(description="The day (YYYY-MM-DD), job id or model id.")
    label: str = Field(description="What to show: the day, the job's name, the model.")
    cost: float
    calls: int
    images: int
    blocked_or_text: int = Field(description="Billed answers without an image.")
    paid_twice: int = Field(description="Images paid for again after a loss or a duplicate.")
    paid_twice_cost: float
    batch_calls: int


class SpendOut(BaseModel):
    group_by: GroupBy
    rows: list[SpendRow]
    total: float
    paid_twice_cost: float


def _label(key: object, names: dict[str, str]) -> str:
    """A job's name (its id when unnamed); entries of deleted jobs have no job."""
    if key is None:
        return "(deleted jobs)"
    return names.get(str(key), str(key)) or str(key)


def spend_summary(
    session: Session, group_by: GroupBy, since: date | None = None, job_id: str | None = None
) -> SpendOut:
    filters: list[ColumnElement[bool]] = []
    if since is not None:
        filters.append(SpendEntry.created_at >= datetime.combine(since, time.min))
    if job_id is not None:
        filters.append(SpendEntry.job_id == job_id)
    key: Any
    if group_by == "day":
        key = func.date(SpendEntry.created_at)
    elif group_by == "job":
        key = SpendEntry.job_id
    else:
        key = SpendEntry.model
    twice = SpendEntry.paid_twice.is_(True)
    rows = session.execute(
        select(
            key,
            func.sum(SpendEntry.cost),
            func.count(),
            func.sum(case((SpendEntry.outcome == "image", 1), else_=0)),
            func.sum(case((SpendEntry.outcome != "image", 1), else_=0)),
            func.sum(case((twice, 1), else_=0)),
            func.sum(case((twice, SpendEntry.cost), else_=0.0)),
            func.sum(case((SpendEntry.route == "batch", 1), else_=0)),
        )
        .where(*filters)
        .group_by(key)
        .order_by(key)
    ).all()
    names: dict[str, str] = {}
    if group_by == "job" and rows:
        names = dict(
            session.execute(select(Job.id, Job.name).where(Job.id.in_([r[0] for r in rows]))).all()
        )
    out = [
        SpendRow(
            key=str(k) if k is not None else "",
            label=_label(k, names),
            cost=round(float(c or 0), 6),
            calls=int(n),
            images=int(i or 0),
            blocked_or_text=int(b or 0),
            paid_twice=int(t or 0),
            paid_twice_cost=round(float(tc or 0), 6),
            batch_calls=int(bc or 0),
        )
        for k, c, n, i, b, t, tc, bc in rows
    ]
    return SpendOut(
        group_by=group_by,
        rows=out,
        total=round(sum(r.cost for r in out), 6),
        paid_twice_cost=round(sum(r.paid_twice_cost for r in out), 6),
    )
