"""What a webhook says and how it is signed: pure functions, no I/O.

An event is due when a job's status changes to a final state, or to paused with a
budget hold (the orchestrator's cap, not a user's pause). The receiver checks
`X-BananaBatch-Signature: sha256=<hex>`, the HMAC-SHA256 of the raw body keyed with
BANANABATCH_WEBHOOK_SECRET.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

SIGNATURE_HEADER = "X-BananaBatch-Signature"
EVENT_HEADER = "X-BananaBatch-Event"
DELIVERY_HEADER = "X-BananaBatch-Delivery"
MAX_URL_CHARS = 2048

BUDGET_HOLD_PREFIXES = ("Budget cap reached", "Daily budget reached")
"""The orchestrator's hold reasons (orchestrator/budget.py) start with these."""

_FINAL_EVENTS = {
    "completed": "job.completed",
    "completed_with_errors": "job.completed",
    "failed": "job.failed",
    "cancelled": "job.cancelled",
}


def event_for(status: str, hold_reason: str | None) -> str | None:
    """The event a job entering `status` reports, or None."""
    if status in _FINAL_EVENTS:
        return _FINAL_EVENTS[status]
    if status == "paused" and hold_reason and hold_reason.startswith(BUDGET_HOLD_PREFIXES):
        return "job.budget_paused"
    return None


def sign(secret: str, body: bytes) -> str:
    """The signature header's value for `body`."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def retry_delay(attempts: int, base_seconds: float, max_seconds: float) -> float:
    """Seconds before the next try after `attempts` failed ones (1, 2, 4, ... x base)."""
    return float(min(base_seconds * 2 ** max(attempts - 1, 0), max_seconds))


def check_webhook_url(url: str) -> str:
    """An absolute http(s) URL with a host, or ValueError saying what is wrong."""
    value = url.strip()
    if len(value) > MAX_URL_CHARS:
        raise ValueError(f"the webhook URL is longer than {MAX_URL_CHARS} characters")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https"):
        raise ValueError(
            f"the webhook URL must start with http:// or https:// (got {value[:60]!r})"
        )
    if not parts.hostname:
        raise ValueError(f"the webhook URL has no host name (got {value[:60]!r})")
    if parts.username or parts.password:
        raise ValueError("the webhook URL must not carry a user name or password")
    return value
