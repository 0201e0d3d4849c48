"""When to ask RunPod about each task: a per-handle schedule plus a request budget.

RunPod allows 2,000 `/status` calls per 10 s per endpoint; we stay far under it
(40 per second by default) whatever the number of tasks in flight. A task is
first asked about after a second, then less and less often while it waits in
the queue; a webhook (or a restart) makes it due at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

FIRST_CHECK_SECONDS = 1.0
QUEUED_MAX_FACTOR = 10.0  # x the first check: a task waiting in the queue
RUNNING_MAX_FACTOR = 4.0  # x the first check: a task running
GROWTH = 1.5


@dataclass
class Track:
    """What we last learned about one RunPod job."""

    state: str = "IN_QUEUE"
    next_at: float = 0.0
    interval: float = FIRST_CHECK_SECONDS
    submitted_at: float = 0.0
    errors: int = 0
    first: float = FIRST_CHECK_SECONDS


@dataclass
class TokenBucket:
    rate: float  # tokens per second
    burst: float
    clock: Callable[[], float] = time.monotonic
    _tokens: float = field(default=0.0, init=False)
    _at: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        self._tokens = self.burst
        self._at = self.clock()

    def take(self, wanted: int) -> int:
        now = self.clock()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        granted = min(wanted, int(self._tokens))
        self._tokens -= granted
        return granted


def after_answer(track: Track, state: str, now: float) -> None:
    """Schedule the next question from the answer just received."""
    if state != track.state:
        track.interval = track.first
    else:
        factor = QUEUED_MAX_FACTOR if state == "IN_QUEUE" else RUNNING_MAX_FACTOR
        track.interval = min(track.first * factor, track.interval * GROWTH)
    track.state = state
    track.errors = 0
    track.next_at = now + track.interval


def after_error(track: Track, now: float, retry_after: float | None = None) -> None:
    """A 429, 5xx or dropped connection: ask again later, never give up on the task."""
    track.errors += 1
    backoff = track.first * 2.0 ** min(track.errors, 5)
    wait = retry_after if retry_after is not None else min(30.0, backoff)
    track.next_at = now + wait
