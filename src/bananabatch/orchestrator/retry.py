"""Retry decisions, pure: what to do with an output whose attempt failed.

Permanent kinds (safety blocks, invalid requests, our own bugs) fail at once and
are never retried (nothing paid twice for an answer that cannot change). A
text-only answer is retried once per output (counted durably on the output, so
other errors in between do not reset it). Transient kinds back off exponentially with
jitter (half to all of each step) up to a cap, honouring the provider's advised
delay when larger.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from bananabatch.contracts import PERMANENT_KINDS, ErrorKind


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4
    base_seconds: float = 2.0
    max_seconds: float = 120.0
    no_image_retries: int = 1


@dataclass(frozen=True)
class RetryDecision:
    retry: bool
    delay: float = 0.0
    reason: str = ""


def backoff_delay(attempt: int, policy: RetryPolicy, rng: random.Random) -> float:
    """Exponential backoff with "equal" jitter: uniform(c / 2, c) where
    c = min(cap, base * 2**(attempt - 1)); half is kept so a retry never fires at once."""
    ceiling = min(policy.max_seconds, policy.base_seconds * (2 ** max(0, attempt - 1)))
    return rng.uniform(0.5 * ceiling, ceiling) if ceiling > 0 else 0.0


def decide(
    kind: ErrorKind,
    *,
    attempts: int,
    policy: RetryPolicy,
    rng: random.Random,
    retry_after: float | None = None,
    no_image_answers: int = 0,
) -> RetryDecision:
    """`attempts` counts dispatches already made for this output (>= 1);
    `no_image_answers` counts its text-only answers so far, this one included.

    A count rather than the previous error kind: a 429 or 503 between two
    text-only answers must not reset the allowance (each answer is paid for).
    """
    if kind in PERMANENT_KINDS:
        return RetryDecision(False, reason=f"{kind.value} errors are permanent")
    if attempts >= policy.max_attempts:
        plural = "attempt" if attempts == 1 else "attempts"
        return RetryDecision(False, reason=f"gave up after {attempts} {plural}")
    if kind is ErrorKind.no_image and no_image_answers > policy.no_image_retries:
        times = {1: "once", 2: "twice"}.get(no_image_answers, f"{no_image_answers} times")
        return RetryDecision(False, reason=f"the model answered without an image {times}")
    delay = backoff_delay(attempts, policy, rng)
    if retry_after is not None:
        delay = max(delay, min(retry_after, policy.max_seconds))
    return RetryDecision(True, delay=delay, reason=f"{kind.value}: retry {attempts + 1}")
