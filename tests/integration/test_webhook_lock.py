"""The webhook sender and SQLite's write lock: an attempt's outcome waits for a settle
round's lock in a thread, never on the event loop (which also runs in-process workers,
and the API when jobs run in the server), and a pass stopped meanwhile still records
what it sent."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from bananabatch.runtime import Runtime
from bananabatch.services import job_actions
from tests.integration.test_webhooks import (  # noqa: F401 (fixtures)
    Receiver,
    _job,
    _states,
    _until,
    dataset,
    gemini,
    hook_settings,
    receiver,
    runtime,
)

pytestmark = pytest.mark.timeout(120)


@contextmanager
def write_lock_held(rt: Runtime, seconds: float) -> Iterator[threading.Event]:
    """SQLite's write lock taken by another connection, as a settle round takes it, and
    let go by a timer thread after `seconds` even if the event loop is stuck meanwhile;
    the event is set once it is let go."""
    lock = sqlite3.connect(rt.engine.url.database or "", timeout=5, check_same_thread=False)
    lock.isolation_level = None
    lock.execute("BEGIN IMMEDIATE")
    released = threading.Event()

    def release() -> None:
        lock.execute("ROLLBACK")
        released.set()

    timer = threading.Timer(seconds, release)
    timer.start()
    try:
        yield released
    finally:
        timer.join(seconds + 5)
        lock.close()


async def _max_loop_lag(stop: asyncio.Event, tick: float = 0.01) -> float:
    """The longest the event loop took beyond a `tick` sleep, until `stop` is set."""
    worst = 0.0
    while not stop.is_set():
        start = time.monotonic()
        await asyncio.sleep(tick)
        worst = max(worst, time.monotonic() - start - tick)
    return worst


async def test_recording_a_delivery_never_blocks_the_event_loop_on_the_write_lock(
    runtime: Runtime,  # noqa: F811
    receiver: Receiver,  # noqa: F811
    dataset: str,  # noqa: F811
) -> None:
    """A concurrent ticker keeps ticking while the outcome waits about a second."""
    job = _job(runtime, dataset, receiver.url, model="classic")
    with runtime.session_factory() as s:
        job_actions.cancel_job(s, job.id)
    stop = asyncio.Event()
    ticker = asyncio.create_task(_max_loop_lag(stop))
    try:
        with write_lock_held(runtime, 1.0) as released:
            delivering = asyncio.create_task(runtime.webhooks.deliver_due())
            await _until(lambda: receiver.calls, limit=10)
            await asyncio.sleep(0.3)
            waited = not delivering.done() and not released.is_set()  # recording, lock held
            assert await asyncio.wait_for(delivering, 20) == 1
    finally:
        stop.set()
    lag = await asyncio.wait_for(ticker, 5)
    assert lag < 0.2, f"the event loop stalled {lag:.2f}s while the write lock was held"
    assert waited
    assert _states(runtime, job.id) == ["delivered"]


async def test_a_stopped_pass_lets_the_attempt_it_made_be_recorded(
    runtime: Runtime,  # noqa: F811
    receiver: Receiver,  # noqa: F811
    dataset: str,  # noqa: F811
) -> None:
    """Cancelled while the outcome waits for the lock, the pass ends only once it is
    recorded: the last pass of `stop` must not send it again."""
    job = _job(runtime, dataset, receiver.url, model="classic")
    with runtime.session_factory() as s:
        job_actions.cancel_job(s, job.id)
    with write_lock_held(runtime, 1.0) as released:
        delivering = asyncio.create_task(runtime.webhooks.deliver_due())
        await _until(lambda: receiver.calls, limit=10)
        delivering.cancel()
        await asyncio.sleep(0.3)
        assert not delivering.done() and not released.is_set()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(delivering, 20)
    assert _states(runtime, job.id) == ["delivered"]
    assert await runtime.webhooks.deliver_due() == 0
    assert len(receiver.calls) == 1
