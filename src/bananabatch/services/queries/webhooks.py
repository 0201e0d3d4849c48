"""A job's webhook deliveries, as the job page and `jobs show` list them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bananabatch.db.models import WebhookDelivery
from bananabatch.services.queries.views import (
    WebhookDeliveryOut,
)


def job_webhooks(session: Session, job_id: str) -> list[WebhookDeliveryOut]:
    rows = session.scalars(
        select(WebhookDelivery)
        .where(WebhookDelivery.job_id == job_id)
        .order_by(WebhookDelivery.created_at, WebhookDelivery.id)
    ).all()
    return [
        WebhookDeliveryOut.model_validate(
            {
                "id": r.id,
                "event": r.event,
                "url": r.url,
                "state": r.state,
                "attempts": r.attempts,
                "last_status": r.last_status,
                "last_error": r.last_error,
                "next_attempt_at": r.next_attempt_at if r.state == "pending" else None,
                "created_at": r.created_at,
                "delivered_at": r.delivered_at,
            }
        )
        for r in rows
    ]
