"""The spend ledger: every billed call is a row, added to its output and its job.

An image paid for a second time (a duplicate result, or an output generated again
after its first image was paid) is marked `paid_twice`, so the ledger says exactly
what was paid twice and when.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from bananabatch.catalog import Catalog
from bananabatch.contracts import PaidCall
from bananabatch.db.models import Job, Output, SpendEntry, utcnow
from bananabatch.domain.spend import call_cost


def insert_ledger(s: Session, rows: list[dict[str, Any]]) -> None:
    """Spend entries as one plain executemany (the ORM would insert them one by one to
    learn each new id, which nothing reads)."""
    if rows:
        s.connection().execute(insert(SpendEntry), rows)


def charge(
    s: Session,
    catalog: Catalog,
    job: Job,
    task_id: str | None,
    output: Output,
    calls: list[PaidCall],
    *,
    duplicate: bool = False,
    ledger: list[dict[str, Any]] | None = None,
) -> None:
    """Write each billed call to the ledger and add it to the output and the job.
    With `ledger`, the rows are left there for the caller's round to insert (in the
    same transaction); else they are inserted now."""
    if not calls:
        return
    model, _ = catalog.resolve(job.model)
    size = job.options.get("image_size")
    image_paid = output.cost > 0 and bool(
        s.scalar(
            select(func.count())
            .select_from(SpendEntry)
            .where(SpendEntry.output_id == output.id, SpendEntry.outcome == "image")
        )
    )
    rows = [] if ledger is None else ledger
    now = utcnow()
    for call in calls:
        price = call_cost(model, size, call)
        again = duplicate or (call.outcome == "image" and image_paid)
        image_paid = image_paid or call.outcome == "image"
        rows.append(
            {
                "job_id": job.id,
                "output_id": output.id,
                "task_id": task_id,
                "attempt": output.attempt,
                "model": job.model,
                "route": call.route,
                "outcome": call.outcome,
                "input_tokens": call.usage.input_tokens,
                "output_tokens": call.usage.output_tokens,
                "cost": price.usd,
                "priced_by": price.priced_by,
                "paid_twice": again,
                "created_at": now,
            }
        )
        output.cost = round((output.cost or 0.0) + price.usd, 8)
        job.cost_actual = round((job.cost_actual or 0.0) + price.usd, 8)
    if ledger is None:
        insert_ledger(s, rows)
