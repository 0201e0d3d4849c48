"""The outbox: a webhook event is written in the same transaction as the job status
change it reports, so a crash can neither lose it (the change committed, the event
with it) nor invent one (the change rolled back, the event too).

A session `after_flush` hook notes every job whose status changed, from any path
(the settler, the budget guard, a cancel); `before_commit` inserts the deliveries,
each body fixed at that moment: counts and cost as the transaction leaves them.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC
from typing import Any

from sqlalchemy import event, func, insert, inspect, select
from sqlalchemy.orm import Session

from bananabatch.db.models import Job, Output, WebhookDelivery, new_id, utcnow
from bananabatch.notify.events import event_for

log = logging.getLogger(__name__)


def _iso(value: Any) -> str | None:
    return value.replace(tzinfo=UTC).isoformat() if value is not None else None


def _changed_status(job: Job) -> bool:
    history = inspect(job).attrs.status.history
    return bool(history.added) and list(history.added) != list(history.deleted)


def event_body(session: Session, job: Job, event_name: str, delivery_id: str) -> str:
    """The JSON a receiver gets: what happened, to which job, how far it got, at what cost."""
    counts = {
        str(status): int(n)
        for status, n in session.connection().execute(
            select(Output.status, func.count())
            .where(Output.job_id == job.id)
            .group_by(Output.status)
        )
    }
    body = {
        "event": event_name,
        "delivery_id": delivery_id,
        "occurred_at": _iso(utcnow()),
        "job": {
            "id": job.id,
            "name": job.name,
            "mode": job.mode,
            "status": job.status,
            "model": job.model,
            "hold_reason": job.hold_reason,
            "error": job.error,
        },
        "counts": {"total": job.total_outputs, **counts},
        "cost": {
            "currency": "USD",
            "estimate": round(job.cost_estimate or 0.0, 6),
            "actual": round(job.cost_actual or 0.0, 6),
            "max_cost": job.max_cost,
        },
        "timestamps": {
            "created_at": _iso(job.created_at),
            "started_at": _iso(job.started_at),
            "finished_at": _iso(job.finished_at),
        },
    }
    return json.dumps(body, separators=(",", ":"), sort_keys=True)


_PENDING = "bananabatch_webhook_events"


def _after_flush(session: Session, _context: Any) -> None:
    """Note each job that entered an event's status in this flush."""
    for obj in list(session.dirty):
        if not isinstance(obj, Job) or not obj.webhook_url or not _changed_status(obj):
            continue
        name = event_for(obj.status, obj.hold_reason)
        if name is not None:
            session.info.setdefault(_PENDING, []).append((obj, name))


def _before_commit(session: Session) -> None:
    """Write the noted events, their bodies as the whole transaction leaves the job
    (a cancel changes the status first and its outputs after)."""
    session.flush()
    noted: list[tuple[Job, str]] = session.info.pop(_PENDING, [])
    for job, name in noted:
        delivery_id = new_id()
        now = utcnow()
        session.connection().execute(
            insert(WebhookDelivery).values(
                id=delivery_id,
                job_id=job.id,
                event=name,
                url=job.webhook_url,
                body=event_body(session, job, name, delivery_id),
                state="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
        log.info("job %s: webhook %s queued for %s", job.id, name, job.webhook_url)


def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


def install() -> None:
    """Hook every ORM session (idempotent)."""
    for name, hook in (
        ("after_flush", _after_flush),
        ("before_commit", _before_commit),
        ("after_soft_rollback", _after_rollback_soft),
    ):
        if not event.contains(Session, name, hook):
            event.listen(Session, name, hook)


def _after_rollback_soft(session: Session, _previous: Any) -> None:
    _after_rollback(session)
