"""Delivers the outbox: POSTs due webhook deliveries, records every attempt, retries
with exponential backoff up to a bounded number of attempts.

A delivery is marked delivered in the database right after the receiver's 2xx, so a
restart sends only what was never acknowledged (at most one repeat, for a crash in
between; the `X-BananaBatch-Delivery` id lets a receiver drop it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from bananabatch.config import Settings
from bananabatch.db.models import Job, WebhookDelivery, utcnow
from bananabatch.notify.events import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    retry_delay,
    sign,
)

log = logging.getLogger(__name__)

BATCH = 20


class WebhookSender:
    def __init__(self, session_factory: sessionmaker[Session], settings: Settings) -> None:
        self._sf = session_factory
        self._settings = settings
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    def _secret(self) -> str:
        secret = self._settings.webhook_secret
        return secret.get_secret_value() if secret is not None else ""

    async def deliver_due(self) -> int:
        """One pass: try every due delivery once. Returns how many were tried."""
        due = await asyncio.to_thread(self._due)
        if not due:
            return 0
        timeout = self._settings.webhook_timeout_seconds
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
            for delivery in due:
                await self._attempt(client, delivery)
        return len(due)

    def _due(self) -> list[WebhookDelivery]:
        """Up to BATCH due deliveries, detached. In a thread, as every database call here:
        a commit waits for SQLite's write lock (up to the busy timeout, while a settle
        round holds it), and on the event loop it stalls the workers and the API too."""
        now = utcnow()
        with self._sf() as s:
            due = s.scalars(
                select(WebhookDelivery)
                .where(WebhookDelivery.state == "pending", WebhookDelivery.next_attempt_at <= now)
                .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.created_at)
                .limit(BATCH)
            ).all()
            s.expunge_all()
        return list(due)

    async def _attempt(self, client: httpx.AsyncClient, delivery: WebhookDelivery) -> None:
        body = delivery.body.encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "BananaBatch-Webhook/1",
            EVENT_HEADER: delivery.event,
            DELIVERY_HEADER: delivery.id,
        }
        secret = self._secret()
        if secret:
            headers[SIGNATURE_HEADER] = sign(secret, body)
        status: int | None = None
        error: str | None = None
        try:
            response = await client.post(delivery.url, content=body, headers=headers)
            status = response.status_code
            if not 200 <= status < 300:
                error = f"HTTP {status}: {response.text[:200]}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        recording = asyncio.ensure_future(
            asyncio.to_thread(self._record, delivery.id, status, error)
        )
        try:
            await asyncio.shield(recording)
        except asyncio.CancelledError:
            # stopping: let the outcome land first, or the last pass sends it again
            await recording
            raise

    def _record(self, delivery_id: str, status: int | None, error: str | None) -> None:
        """One attempt's outcome, in a thread (see `_due`)."""
        with self._sf() as s:
            row = s.get(WebhookDelivery, delivery_id)
            if row is None:  # its job was deleted meanwhile: nothing left to record
                return
            row.attempts += 1
            row.last_status = status
            row.last_error = error
            if error is None:
                row.state = "delivered"
                row.delivered_at = utcnow()
            elif row.attempts >= self._settings.webhook_max_attempts:
                row.state = "failed"
                log.warning("webhook %s for job %s gave up: %s", row.event, row.job_id, error)
            else:
                delay = retry_delay(
                    row.attempts,
                    self._settings.webhook_retry_base_seconds,
                    self._settings.webhook_retry_max_seconds,
                )
                row.next_attempt_at = utcnow() + timedelta(seconds=delay)
                log.info(
                    "webhook %s for job %s: %s; retry in %.1fs", row.event, row.job_id, error, delay
                )
            # the job page polls its detail with an ETag made of the job's revision: a
            # finished job changes no more, so the attempt itself must move it
            s.execute(update(Job).where(Job.id == row.job_id).values(revision=Job.revision + 1))
            s.commit()

    async def _run(self) -> None:
        interval = self._settings.webhook_poll_seconds
        while True:
            try:
                await self.deliver_due()
            except Exception:  # a bad row or a DB hiccup must not stop deliveries for good
                log.exception("webhook delivery pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=interval)
            self._wake.clear()

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="webhooks")

    async def stop(self) -> None:
        """Stop the loop, then one last pass so a job that just ended is reported."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                self.deliver_due(), timeout=self._settings.webhook_timeout_seconds
            )
