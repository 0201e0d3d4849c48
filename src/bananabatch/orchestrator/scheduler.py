"""The orchestrator loop: claim runnable tasks fairly, dispatch them to the
executor, poll, and persist results.

Durability rules:
- every state change is committed before it is acted on (a task is marked
  `dispatched` before `submit`; an image is in storage before its row says so);
- an output has one storage key, written atomically, so a re-run after a crash
  rewrites the same slot instead of adding a second file;
- on start, every `dispatched` task is polled again; the executor answers
  `lost` for handles it no longer knows, and those tasks are re-queued.

One orchestrator may run per data dir (a lock file enforces it), so claims never
race with another scheduler; API actions (cancel, pause) use conditional
updates that a concurrent claim cannot undo.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from bananabatch.catalog import Catalog
from bananabatch.config import Settings
from bananabatch.contracts import ErrorKind
from bananabatch.db.models import TERMINAL_JOB_STATUSES, Job, JobStatus, Task, TaskStatus
from bananabatch.db.session import session_scope, write_scope
from bananabatch.executors.base import Executor, RemoteState, SubmitFailure, TaskStatusReport
from bananabatch.executors.routing import holds_a_slot
from bananabatch.executors.transport import LocalPayloadBuilder, PayloadBuilder
from bananabatch.orchestrator.claim import Claimed, Claimer
from bananabatch.orchestrator.job_state import refresh_job
from bananabatch.orchestrator.limiter import AdaptiveLimiter
from bananabatch.orchestrator.lock import OrchestratorLock
from bananabatch.orchestrator.retry import RetryPolicy
from bananabatch.orchestrator.settle import Outcome, Settler
from bananabatch.storage.base import Storage

log = logging.getLogger(__name__)
T = TypeVar("T")
WITHDRAW_CHECK_SECONDS = 1.0  # how soon queued tasks of a cancelled/paused job are withdrawn


def _final(report: TaskStatusReport) -> bool:
    """The task is over at the executor (not a running task's early slots)."""
    return report.state not in (RemoteState.queued, RemoteState.running)


def _rate_limited(report: TaskStatusReport) -> bool:
    result = report.result
    return result is not None and any(
        sl.error is not None and sl.error.kind is ErrorKind.rate_limited for sl in result.slots
    )


class Orchestrator:
    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        storage: Storage,
        executor: Executor,
        settings: Settings,
        catalog: Catalog,
        builder: PayloadBuilder | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._sf = session_factory
        self._executor = executor
        self._settings = settings
        self.policy = RetryPolicy(
            max_attempts=settings.max_attempts,
            base_seconds=settings.retry_base_seconds,
            max_seconds=settings.retry_max_seconds,
        )
        self.settler = Settler(
            session_factory=session_factory,
            storage=storage,
            catalog=catalog,
            policy=self.policy,
            rng=rng or random.Random(),
        )
        self._claimer = Claimer(
            session_factory=session_factory,
            builder=builder or LocalPayloadBuilder(),
            settler=self.settler,
            executor_name=executor.name,
            catalog=catalog,
            daily_budget=settings.daily_budget_usd,
        )
        self._remote_states: dict[str, str] = {}  # task_id -> last state written
        self._remote = executor.name != "local"
        self.limiter = AdaptiveLimiter(min(settings.resolved_concurrency, executor.max_in_flight))
        self._in_flight: dict[str, tuple[str, str | None]] = {}  # task_id -> (job_id, handle)
        self._last_served: dict[str, float] = {}
        self._withdrawn: set[str] = set()
        self._withdraw_checked = 0.0
        self._db_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="orchestrator-db")
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        executor.set_waker(self.wake)
        self._stopping = False
        self._loop_task: asyncio.Task[None] | None = None
        self._lock = OrchestratorLock(settings.data_dir / "orchestrator.lock")

    # ---- lifecycle -------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._loop_task is not None and not self._loop_task.done()

    async def start(self) -> None:
        self._lock.acquire()
        self._loop = asyncio.get_running_loop()
        self._stopping = False
        await self._db(self._recover)
        self._loop_task = asyncio.create_task(self._run(), name="orchestrator")
        log.info("orchestrator started (executor=%s)", self._executor.name)

    async def stop(self, grace_seconds: float | None = None) -> None:
        """Stop dispatching, then give in-flight work `grace_seconds` to finish and be
        stored (it is being paid for); whatever is still running after that is
        abandoned and re-queued on the next start."""
        grace = self._settings.shutdown_grace_seconds if grace_seconds is None else grace_seconds
        self._stopping = True
        self._wake.set()
        if self._loop_task is not None:
            await self._loop_task
            self._loop_task = None
        if self._in_flight and grace > 0:
            log.info("waiting up to %.0fs for %d task(s) in flight", grace, len(self._in_flight))
            deadline = asyncio.get_running_loop().time() + grace
            while self._in_flight and asyncio.get_running_loop().time() < deadline:
                if not await self._poll(settle=True):
                    await asyncio.sleep(self._settings.poll_interval_seconds)
        await self._executor.aclose()
        self._lock.release()
        log.info("orchestrator stopped; %d task(s) will resume on restart", len(self._in_flight))

    async def _db(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking DB work on the orchestrator's own thread: it must never wait
        behind the workers' image I/O in the shared default pool (SQLite writes are
        serial anyway)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._db_pool, functools.partial(fn, *args))

    def wake(self) -> None:
        """Run a round now; safe from any thread (a webhook served by another loop)."""
        loop = self._loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if loop is None or running is loop:
            self._wake.set()
        elif not loop.is_closed():
            loop.call_soon_threadsafe(self._wake.set)

    async def health(self) -> dict[str, object]:
        return {
            "running": self.running,
            "in_flight": len(self._in_flight),
            "limiter": self.limiter.snapshot(),
            "executor": await self._executor.health(),
        }

    async def wait_for_jobs(self, job_ids: Iterable[str], *, interval: float = 0.2) -> None:
        """Block until every given job is terminal (used by the headless CLI)."""
        ids = list(job_ids)
        while True:
            statuses = await asyncio.to_thread(self._job_statuses, ids)  # not the loop's DB thread
            if all(s in TERMINAL_JOB_STATUSES for s in statuses.values()):
                return
            if self._loop_task is not None and self._loop_task.done():
                self._loop_task.result()  # surface a crashed loop
                return
            await asyncio.sleep(interval)

    async def _run(self) -> None:
        while not self._stopping:
            # Cleared before the round, not after it: a wake that comes while the round
            # runs (a job created meanwhile) makes the next wait return at once.
            self._wake.clear()
            try:
                progressed = await self.tick()
            except Exception:
                log.exception("orchestrator tick failed; retrying shortly")
                progressed = False
                await asyncio.sleep(1.0)
            if not progressed and not self._stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._wake.wait(), timeout=self._settings.poll_interval_seconds
                    )

    async def tick(self) -> bool:
        """One scheduling round; True when anything moved. What finished is settled and
        the freed slots claimed in one visit to the database thread (the claim follows
        the settle at once, instead of after another turn of this loop), unless the
        round was rate limited: the limiter must learn that before anything is claimed."""
        finished = await self._poll(settle=False)
        if finished and any(_rate_limited(r) for _, r in finished):
            await self._settle(finished)
            finished = []
        dispatched = await self._dispatch(finished)
        return bool(finished) or dispatched

    # ---- recovery -----------------------------------------------------------------

    def _recover(self) -> None:
        with write_scope(self._sf) as s:
            for task in s.scalars(select(Task).where(Task.status == TaskStatus.dispatched)):
                if task.handle:
                    self._in_flight[task.id] = (task.job_id, task.handle)
                else:  # crashed between claim and recording the handle
                    self.settler.requeue_in(s, task, "interrupted before it was sent")
            active = select(Job).where(Job.status.not_in(TERMINAL_JOB_STATUSES))
            jobs = s.scalars(active.with_for_update()).all()
            for job in jobs:
                refresh_job(s, job)
        if self._in_flight:
            log.info("recovery: polling %d dispatched task(s) again", len(self._in_flight))

    def _job_statuses(self, ids: list[str]) -> dict[str, str]:
        with self._sf() as s:
            rows = s.execute(select(Job.id, Job.status).where(Job.id.in_(ids))).all()
        return {r[0]: r[1] for r in rows}

    # ---- polling and persisting ------------------------------------------------------

    async def _poll(self, *, settle: bool) -> list[tuple[str, TaskStatusReport]]:
        """Ask the executor about every task in flight; what finished (wholly or some
        slots) is settled now when `settle`, else returned for `_dispatch` to settle."""
        if not self._in_flight:
            return []
        now = asyncio.get_running_loop().time()
        if now - self._withdraw_checked >= WITHDRAW_CHECK_SECONDS:
            self._withdraw_checked = now
            await self._withdraw_queued()
        items = list(self._in_flight.items())
        reports = await self._executor.poll([handle or "" for _, (_, handle) in items])
        changed: dict[str, str] = {}
        finished: list[tuple[str, TaskStatusReport]] = []
        partial: list[tuple[str, TaskStatusReport]] = []
        for (task_id, _), report in zip(items, reports, strict=True):
            if report.state in (RemoteState.queued, RemoteState.running):
                if self._remote_states.get(task_id) != report.state.value:
                    changed[task_id] = report.state.value
                if report.result is not None:  # slots that finished before their siblings
                    partial.append((task_id, report))
            else:
                finished.append((task_id, report))
        if changed and self._remote:  # in-process tasks run at once: nothing to show
            await self._db(self._write_remote_states, changed)
            self._remote_states.update(changed)
        if settle and (finished or partial):
            await self._settle([*partial, *finished])
        return [*partial, *finished]

    async def _settle(self, reports: list[tuple[str, TaskStatusReport]]) -> None:
        self._settled(reports, await self._db(self.settler.settle_many, reports))

    def _settled(
        self, reports: list[tuple[str, TaskStatusReport]], outcomes: list[Outcome]
    ) -> None:
        """After the settle committed: the limiter learns, finished tasks leave the
        in-flight set (not before: a settle that failed is polled and settled again)."""
        for outcome in outcomes:
            self._learn(outcome)
        for task_id, report in reports:
            if _final(report):
                self._in_flight.pop(task_id, None)
                self._remote_states.pop(task_id, None)
                self._withdrawn.discard(task_id)

    def _learn(self, outcome: Outcome) -> None:
        for _ in range(outcome.successes):
            self.limiter.on_success()
        for retry_after in outcome.rate_limited:
            self.limiter.on_rate_limited(retry_after)

    def _write_remote_states(self, changed: dict[str, str]) -> None:
        """Only transitions are written (queued -> running), never every poll; the jobs'
        revisions move so pages polling with ETags see the change."""
        jobs = {self._in_flight[t][0] for t in changed if t in self._in_flight}
        with session_scope(self._sf) as s:
            for task_id, state in changed.items():
                s.execute(
                    update(Task)
                    .where(Task.id == task_id, Task.status == TaskStatus.dispatched)
                    .values(remote_state=state)
                )
            s.execute(update(Job).where(Job.id.in_(jobs)).values(revision=Job.revision + 1))

    async def _withdraw_queued(self) -> None:
        """Tasks of a cancelled or paused job that still wait in the executor's queue are
        withdrawn; running ones finish and their images are kept (they are paid for)."""
        job_ids = {job_id for job_id, _ in self._in_flight.values()}
        stopped = await self._db(self._stopped_jobs, job_ids)
        for task_id, (job_id, handle) in list(self._in_flight.items()):
            wanted = job_id in stopped and handle and task_id not in self._withdrawn
            if wanted and await self._executor.cancel(handle or ""):
                self._withdrawn.add(task_id)

    def _stopped_jobs(self, job_ids: set[str]) -> set[str]:
        with self._sf() as s:
            rows = s.scalars(
                select(Job.id).where(
                    Job.id.in_(job_ids), Job.status.in_((JobStatus.cancelled, JobStatus.paused))
                )
            )
            return set(rows)

    # ---- dispatching ---------------------------------------------------------------------

    async def _dispatch(self, finished: list[tuple[str, TaskStatusReport]]) -> bool:
        """Settle `finished` (see `tick`) and claim what the freed slots allow."""
        leaving = {task_id for task_id, report in finished if _final(report)}
        staying = [v for t, v in self._in_flight.items() if t not in leaving]
        busy = sum(1 for _, handle in staying if holds_a_slot(handle))
        room = min(self.limiter.available(busy), self._executor.max_in_flight - busy)
        if room <= 0 or self._stopping:
            if finished:
                await self._settle(finished)
            return False
        in_flight_by_job: dict[str, int] = {}
        for job_id, _ in staying:
            in_flight_by_job[job_id] = in_flight_by_job.get(job_id, 0) + 1
        outcomes, claimed = await self._db(
            self._settle_and_claim, finished, room, in_flight_by_job, dict(self._last_served)
        )
        self._settled(finished, outcomes)
        if not claimed:
            return False
        ready = [c for c in claimed if c.payload is not None]
        for c in claimed:
            if c.payload is None:
                await self._db(
                    self.settler.fail_task, c.task_id, ErrorKind.invalid, c.problem or "unsendable"
                )
        if not ready:
            return True
        try:
            handles = await self._executor.submit([c.payload for c in ready if c.payload])
        except Exception as exc:
            log.exception("executor %s refused %d task(s)", self._executor.name, len(ready))
            handles = [SubmitFailure(f"submit failed: {exc}")] * len(ready)
        if self._remote:  # in-process handles die with the process: recovery needs none
            await self._db(self._record_handles, ready, handles)
        loop_now = asyncio.get_running_loop().time()
        for c, handle in zip(ready, handles, strict=True):
            if isinstance(handle, SubmitFailure):
                kind = ErrorKind.invalid if handle.permanent else ErrorKind.transient
                await self._db(self.settler.fail_task, c.task_id, kind, handle.error)
                continue
            self._in_flight[c.task_id] = (c.job_id, handle)
            self._last_served[c.job_id] = loop_now
        return True

    def _settle_and_claim(
        self,
        finished: list[tuple[str, TaskStatusReport]],
        room: int,
        in_flight_by_job: dict[str, int],
        last_served: dict[str, float],
    ) -> tuple[list[Outcome], list[Claimed]]:
        """On the database thread: settle, then claim at once. A failed claim is logged
        and retried next round; it must not hide the settle that committed before it."""
        outcomes = self.settler.settle_many(finished) if finished else []
        try:
            claimed = self._claimer.claim(room, in_flight_by_job, last_served)
        except Exception:
            if not finished:
                raise
            log.exception("claiming failed after a settle; retrying next round")
            claimed = []
        return outcomes, claimed

    def _record_handles(self, ready: list[Claimed], handles: list[str | SubmitFailure]) -> None:
        with session_scope(self._sf) as s:
            for c, handle in zip(ready, handles, strict=True):
                if isinstance(handle, str):
                    s.execute(update(Task).where(Task.id == c.task_id).values(handle=handle))
