"""What makes a repeated poll cheap: the poll state of each job (revision, queue rank,
last output change), kept in memory for as long as nobody has written to the database.

SQLite tells us that in microseconds: `PRAGMA data_version` on a connection changes
whenever any *other* connection (this process's orchestrator, a CLI, another server)
commits. The watch connection never writes, so every commit counts. While the number
is unchanged the cached states are exact, and a poll is answered without a thread
hop or a query; the first poll after a commit recomputes one job's state once, in a
thread, however many pollers ask at the same moment.

While a job runs its process commits about 20 times a second, and re-reading every
polled job's state (and rebuilding its answers) at each commit kept the API process
busy. So a commit made by *another* process is seen within `MAX_STALE` seconds: at
once after a quiet spell, and no more often than that while commits stream in. A
commit made through this process's own engine (a pause, a review from the UI) is seen
at once, always.

Other databases have no such counter: there every poll reads the state (still two
small indexed queries), so the cache is only used with SQLite.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from anyio import to_thread
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import Send

from bananabatch.services import queries
from bananabatch.services.queries import PollState

log = logging.getLogger(__name__)

MAX_JOBS = 4096
"""Cached job states at most; past that the cache starts afresh."""
MAX_STALE = 0.25
"""Seconds a poll may lag behind another process's commits (the UI polls every 3 s)."""


class ChangeWatch:
    """A read-only view of whether the SQLite database changed since the last look."""

    def __init__(self, path: str) -> None:
        # Used only from the event loop thread; never in a transaction (autocommit).
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.own_commits = 0
        """Commits through this process's engine (counted from any thread)."""

    @classmethod
    def for_engine(cls, engine: Engine) -> ChangeWatch | None:
        database = engine.url.database
        if engine.dialect.name != "sqlite" or not database or database == ":memory:":
            return None
        if not Path(database).exists():
            return None
        watch = cls(database)
        event.listen(engine, "commit", watch._committed)
        return watch

    def _committed(self, _conn: object) -> None:
        self.own_commits += 1

    def version(self) -> int:
        row = self._conn.execute("PRAGMA data_version").fetchone()
        return int(row[0])

    def close(self) -> None:
        self._conn.close()


MAX_ANSWER_BYTES = 8 * 1024 * 1024
"""Full answers kept at most (bytes, all together); past that the oldest go."""


class CachedAnswer:
    """A 200 answer of a polled page, kept while its ETag is current."""

    def __init__(self, headers: list[tuple[bytes, bytes]], body: bytes, first: Send) -> None:
        self.headers = list(headers)
        self.body = body
        self._first = first

    def sent_to(self, send: Send) -> bool:
        """True for the poller whose request built it (it has had the answer already)."""
        return send is self._first

    async def send(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.headers})
        await send({"type": "http.response.body", "body": self.body})


class PollCache:
    """Job poll states valid while the database's data version stays the same."""

    def __init__(self, session_factory: sessionmaker[Session], watch: ChangeWatch | None) -> None:
        self._factory = session_factory
        self._watch = watch
        self._version: int | None = None
        self._own_commits = 0
        self._read_at = 0.0
        self._states: dict[str, PollState] = {}
        self._pending: dict[str, asyncio.Future[PollState]] = {}
        self._answers: dict[str, tuple[str, CachedAnswer]] = {}
        self._answer_bytes = 0
        self._building: dict[str, asyncio.Future[CachedAnswer | None]] = {}

    def _due(self) -> bool:
        """Whether the cached states must go now that the database changed: always
        after our own commits, else once `MAX_STALE` has passed since they were reset."""
        assert self._watch is not None
        if self._watch.own_commits != self._own_commits or self._version is None:
            return True
        return time.monotonic() - self._read_at >= MAX_STALE

    def _read(self, job_id: str) -> PollState:
        with self._factory() as session:
            return queries.poll_state(session, job_id)

    async def state(self, job_id: str) -> PollState:
        """The job's poll state; raises the domain errors of `poll_state` (unknown job)."""
        if self._watch is None:
            return await to_thread.run_sync(self._read, job_id)
        version = self._watch.version()
        if version != self._version and self._due():
            self._states.clear()
            self._answers.clear()
            self._answer_bytes = 0
            self._version = version
            self._own_commits = self._watch.own_commits
            self._read_at = time.monotonic()
        kept_since = self._version
        cached = self._states.get(job_id)
        if cached is not None:
            return cached
        pending = self._pending.get(job_id)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[PollState] = asyncio.get_running_loop().create_future()
        self._pending[job_id] = future
        try:
            state = await to_thread.run_sync(self._read, job_id)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning without waiters
            raise
        finally:
            self._pending.pop(job_id, None)
        future.set_result(state)
        # Read after the states were last reset, so at least as fresh as they are; if
        # they were reset meanwhile, it may be older than the others: not kept.
        if self._version == kept_since:
            if len(self._states) >= MAX_JOBS:
                self._states.clear()
            self._states[job_id] = state
        return state

    async def answer(
        self,
        key: str,
        etag: str,
        build: Callable[[], Awaitable[CachedAnswer | None]],
    ) -> CachedAnswer | None:
        """The kept answer for this page and ETag, else `build()` (once, however many ask at
        the same time: the others wait for it). None: built but not shareable; each
        waiter then builds its own."""
        if self._watch is None:
            return await build()
        version = self._version
        kept = self._answers.get(key)
        if kept is not None and kept[0] == etag:
            return kept[1]
        building = self._building.get(f"{etag}{key}")
        if building is not None:
            shared = await asyncio.shield(building)
            return shared if shared is not None else await build()
        future: asyncio.Future[CachedAnswer | None] = asyncio.get_running_loop().create_future()
        self._building[f"{etag}{key}"] = future
        answer: CachedAnswer | None = None
        try:
            answer = await build()
        finally:
            self._building.pop(f"{etag}{key}", None)
            future.set_result(answer)
        if answer is not None and self._version == version:
            if self._answer_bytes + len(answer.body) > MAX_ANSWER_BYTES:
                self._answers.clear()
                self._answer_bytes = 0
            self._answers[key] = (etag, answer)
            self._answer_bytes += len(answer.body)
        return answer

    def close(self) -> None:
        if self._watch is not None:
            self._watch.close()


def poll_cache_for(state: object, factory: Callable[[], PollCache]) -> PollCache:
    """The app's one cache (made on first use, after the runtime exists)."""
    cache = getattr(state, "poll_cache", None)
    if cache is None:
        cache = factory()
        setattr(state, "poll_cache", cache)  # noqa: B010 (Starlette State)
    assert isinstance(cache, PollCache)
    return cache
