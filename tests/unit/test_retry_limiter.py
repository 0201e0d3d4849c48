"""Retry decisions and the adaptive limiter."""

from __future__ import annotations

import random

import pytest

from bananabatch.contracts import ErrorKind
from bananabatch.orchestrator.limiter import AdaptiveLimiter
from bananabatch.orchestrator.retry import RetryPolicy, backoff_delay, decide

POLICY = RetryPolicy(max_attempts=4, base_seconds=2.0, max_seconds=30.0)


@pytest.mark.parametrize("kind", [ErrorKind.blocked, ErrorKind.invalid, ErrorKind.internal])
def test_permanent_errors_never_retry(kind: ErrorKind) -> None:
    d = decide(kind, attempts=1, policy=POLICY, rng=random.Random(1))
    assert not d.retry
    assert "permanent" in d.reason


@pytest.mark.parametrize("kind", [ErrorKind.transient, ErrorKind.rate_limited])
def test_transient_errors_retry_until_max_attempts(kind: ErrorKind) -> None:
    rng = random.Random(1)
    assert all(decide(kind, attempts=a, policy=POLICY, rng=rng).retry for a in (1, 2, 3))
    final = decide(kind, attempts=4, policy=POLICY, rng=rng)
    assert not final.retry and "4 attempts" in final.reason
    single = decide(kind, attempts=1, policy=RetryPolicy(max_attempts=1), rng=rng)
    assert not single.retry and single.reason == "gave up after 1 attempt"


def test_no_image_is_retried_once() -> None:
    rng = random.Random(1)
    assert decide(ErrorKind.no_image, attempts=1, policy=POLICY, rng=rng, no_image_answers=1).retry
    again = decide(ErrorKind.no_image, attempts=2, policy=POLICY, rng=rng, no_image_answers=2)
    assert not again.retry
    assert again.reason == "the model answered without an image twice"


def test_no_image_allowance_survives_other_errors_in_between() -> None:
    """text-only, 429, text-only: the count, not the last kind, decides."""
    policy = RetryPolicy(max_attempts=8)
    rng = random.Random(1)
    assert decide(ErrorKind.no_image, attempts=1, policy=policy, rng=rng, no_image_answers=1).retry
    assert decide(
        ErrorKind.rate_limited, attempts=2, policy=policy, rng=rng, no_image_answers=1
    ).retry
    third = decide(ErrorKind.no_image, attempts=3, policy=policy, rng=rng, no_image_answers=2)
    assert not third.retry


def test_backoff_grows_and_is_capped() -> None:
    rng = random.Random(7)
    delays = [backoff_delay(a, POLICY, rng) for a in range(1, 10)]
    assert 1.0 <= delays[0] <= 2.0
    assert 4.0 <= delays[2] <= 8.0
    assert all(d <= POLICY.max_seconds for d in delays)
    assert delays[-1] >= POLICY.max_seconds / 2


def test_retry_after_is_honoured_but_capped() -> None:
    d = decide(
        ErrorKind.rate_limited, attempts=1, policy=POLICY, rng=random.Random(1), retry_after=17.0
    )
    assert d.retry and d.delay == pytest.approx(17.0)
    capped = decide(
        ErrorKind.rate_limited, attempts=1, policy=POLICY, rng=random.Random(1), retry_after=999.0
    )
    assert capped.delay == POLICY.max_seconds


def test_limiter_halves_on_429_pauses_and_grows_back() -> None:
    now = [100.0]
    lim = AdaptiveLimiter(8, successes_to_grow=2, clock=lambda: now[0])
    assert lim.available(3) == 5
    lim.on_rate_limited(retry_after=5.0)
    assert lim.limit == 4
    assert lim.available(0) == 0  # paused while the advised delay runs
    now[0] += 5.1
    assert lim.available(1) == 3
    lim.on_rate_limited()
    lim.on_rate_limited()
    lim.on_rate_limited()
    assert lim.limit == 1  # never below the minimum
    for _ in range(4):
        lim.on_success()
    assert lim.limit == 3
    for _ in range(100):
        lim.on_success()
    assert lim.limit == 8  # never above the maximum
