"""Adaptive concurrency limiter (AIMD): halves the in-flight limit on a 429 and
honours the advised pause, then grows back by one per run of successes."""

from __future__ import annotations

import time
from collections.abc import Callable


class AdaptiveLimiter:
    def __init__(
        self,
        maximum: int,
        *,
        minimum: int = 1,
        successes_to_grow: int = 4,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.maximum = maximum
        self.minimum = minimum
        self.limit = maximum
        self.successes_to_grow = successes_to_grow
        self._streak = 0
        self._paused_until = 0.0
        self._clock = clock

    def on_success(self) -> None:
        self._streak += 1
        if self._streak >= self.successes_to_grow and self.limit < self.maximum:
            self.limit += 1
            self._streak = 0

    def on_rate_limited(self, retry_after: float | None = None) -> None:
        self._streak = 0
        self.limit = max(self.minimum, self.limit // 2)
        if retry_after:
            self._paused_until = max(self._paused_until, self._clock() + retry_after)

    def available(self, in_flight: int) -> int:
        """How many more tasks may be dispatched right now."""
        if self._clock() < self._paused_until:
            return 0
        return max(0, self.limit - in_flight)

    def snapshot(self) -> dict[str, object]:
        remaining = max(0.0, self._paused_until - self._clock())
        return {"limit": self.limit, "maximum": self.maximum, "paused_seconds": round(remaining, 2)}
