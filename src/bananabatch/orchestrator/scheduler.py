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
import base64
import contextlib
import fcntl
import logging
import os
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from bananabatch.catalog import Catalog
from bananabatch.config import Settings
from bananabatch.contracts import (
    ErrorKind,
    GenerationOptions,
    ImageRef,
    Mode,
    OutputSlot,
    SlotError,
    SlotResult,
    TaskPayload,
    TaskResult,
)
from bananabatch.db.models import (
    TERMINAL_JOB_STATUSES,
    Asset,
    Batch,
    Job,
    JobStatus,
    Output,
    OutputStatus,
    Task,
    TaskStatus,
    utcnow,
)
from bananabatch.db.session import session_scope
from bananabatch.domain.pricing import output_cost
from bananabatch.errors import Conflict
from bananabatch.executors.base import Executor, RemoteState, TaskStatusReport
from bananabatch.export.metadata import embed_metadata
from bananabatch.ingest.thumbnails import make_thumbnail
from bananabatch.orchestrator.limiter import AdaptiveLimiter
from bananabatch.orchestrator.retry import RetryPolicy, decide
from bananabatch.storage.base import Storage
from bananabatch.storage.keys import output_key, output_thumb_key

log = logging.getLogger(__name__)

RUNNABLE_JOB_STATUSES = (JobStatus.queued, JobStatus.running)
EXT_FOR_MIME = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}


@dataclass
class _Outcome:
    """What persisting one task result taught the limiter."""

    successes: int = 0
    rate_limited: list[float | None] = field(default_factory=list)


class OrchestratorLock:
    """An exclusive lock file so two processes never schedule the same data dir."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = self.path.open("a+")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            fh.close()
            raise Conflict(
                f"Another BananaBatch process ({holder}) is already running jobs on this data "
                "directory. Stop it, or talk to it with `--server URL`."
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}")
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None


class Orchestrator:
    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        storage: Storage,
        executor: Executor,
        settings: Settings,
        catalog: Catalog,
        rng: random.Random | None = None,
    ) -> None:
        self._sf = session_factory
        self._storage = storage
        self._executor = executor
        self._settings = settings
        self._catalog = catalog
        self._rng = rng or random.Random()
        self.policy = RetryPolicy(
            max_attempts=settings.max_attempts,
            base_seconds=settings.retry_base_seconds,
            max_seconds=settings.retry_max_seconds,
        )
        self.limiter = AdaptiveLimiter(min(settings.resolved_concurrency, executor.max_in_flight))
        self._in_flight: dict[str, tuple[str, str | None]] = {}  # task_id -> (job_id, handle)
        self._last_served: dict[str, float] = {}
        self._wake = asyncio.Event()
        self._stopping = False
        self._loop_task: asyncio.Task[None] | None = None
        self._lock = OrchestratorLock(settings.data_dir / "orchestrator.lock")

    # ---- lifecycle -------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._loop_task is not None and not self._loop_task.done()

    async def start(self) -> None:
        self._lock.acquire()
        self._stopping = False
        await asyncio.to_thread(self._recover)
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
                if not await self._poll():
                    await asyncio.sleep(self._settings.poll_interval_seconds)
        await self._executor.aclose()
        self._lock.release()
        log.info("orchestrator stopped; %d task(s) will resume on restart", len(self._in_flight))

    def wake(self) -> None:
        self._wake.set()

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
            statuses = await asyncio.to_thread(self._job_statuses, ids)
            if all(s in TERMINAL_JOB_STATUSES for s in statuses.values()):
                return
            if self._loop_task is not None and self._loop_task.done():
                self._loop_task.result()  # surface a crashed loop
                return
            await asyncio.sleep(interval)

    async def _run(self) -> None:
        while not self._stopping:
            try:
                progressed = await self.tick()
            except Exception:
                log.exception("orchestrator tick failed; retrying shortly")
                progressed = False
                await asyncio.sleep(1.0)
            if not progressed and not self._stopping:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._wake.wait(), timeout=self._settings.poll_interval_seconds
                    )

    async def tick(self) -> bool:
        """One scheduling round; True when anything moved."""
        polled = await self._poll()
        dispatched = await self._dispatch()
        return polled or dispatched

    # ---- recovery -----------------------------------------------------------------

    def _recover(self) -> None:
        with session_scope(self._sf) as s:
            for task in s.scalars(select(Task).where(Task.status == TaskStatus.dispatched)):
                if task.handle:
                    self._in_flight[task.id] = (task.job_id, task.handle)
                else:  # crashed between claim and submit: nothing was started
                    task.status = TaskStatus.queued
            jobs = s.scalars(select(Job).where(Job.status.not_in(TERMINAL_JOB_STATUSES))).all()
            for job in jobs:
                self._refresh_job(s, job)
        if self._in_flight:
            log.info("recovery: polling %d dispatched task(s) again", len(self._in_flight))

    def _job_statuses(self, ids: list[str]) -> dict[str, str]:
        with self._sf() as s:
            rows = s.execute(select(Job.id, Job.status).where(Job.id.in_(ids))).all()
        return {r[0]: r[1] for r in rows}

    # ---- polling and persisting ------------------------------------------------------

    async def _poll(self) -> bool:
        if not self._in_flight:
            return False
        await self._cancel_abandoned()
        items = list(self._in_flight.items())
        reports = await self._executor.poll([handle or "" for _, (_, handle) in items])
        progressed = False
        for (task_id, _), report in zip(items, reports, strict=True):
            if report.state in (RemoteState.queued, RemoteState.running):
                continue
            outcome = await asyncio.to_thread(self._settle, task_id, report)
            self._in_flight.pop(task_id, None)
            for _ in range(outcome.successes):
                self.limiter.on_success()
            for retry_after in outcome.rate_limited:
                self.limiter.on_rate_limited(retry_after)
            progressed = True
        return progressed

    async def _cancel_abandoned(self) -> None:
        job_ids = {job_id for job_id, _ in self._in_flight.values()}
        cancelled = await asyncio.to_thread(self._cancelled_jobs, job_ids)
        for _task_id, (job_id, handle) in list(self._in_flight.items()):
            if job_id in cancelled and handle:
                await self._executor.cancel(handle)

    def _cancelled_jobs(self, job_ids: set[str]) -> set[str]:
        with self._sf() as s:
            rows = s.scalars(
                select(Job.id).where(Job.id.in_(job_ids), Job.status == JobStatus.cancelled)
            )
            return set(rows)

    def _settle(self, task_id: str, report: TaskStatusReport) -> _Outcome:
        if report.state is RemoteState.completed and report.result is not None:
            return self._apply_result(task_id, report.result)
        message = report.error or f"task {report.state.value}"
        if report.state is RemoteState.lost:
            message = "the executor lost this task (restart or expiry); it will run again"
        return self._fail_task(task_id, ErrorKind.transient, message)

    def _fail_task(self, task_id: str, kind: ErrorKind, message: str) -> _Outcome:
        with session_scope(self._sf) as s:
            task = s.get(Task, task_id)
            if task is None or task.status != TaskStatus.dispatched:
                return _Outcome()
            pending = s.scalars(
                select(Output).where(
                    Output.task_id == task_id, Output.status == OutputStatus.pending
                )
            ).all()
            result = TaskResult(
                task_id=task_id,
                slots=[
                    SlotResult(
                        output_id=o.id,
                        status="failed",
                        error=SlotError(kind=kind, message=message),
                    )
                    for o in pending
                ],
            )
        return self._apply_result(task_id, result)

    def _apply_result(self, task_id: str, result: TaskResult) -> _Outcome:
        outcome = _Outcome()
        with session_scope(self._sf) as s:
            task = s.get(Task, task_id)
            if task is None or task.status != TaskStatus.dispatched:
                log.warning("ignoring a result for task %s that is not dispatched", task_id)
                return outcome
            job = s.get_one(Job, task.job_id)
            model_info, _ = self._catalog.resolve(job.model)
            price = output_cost(model_info, job.options.get("image_size"))
            outputs = {o.id: o for o in s.scalars(select(Output).where(Output.task_id == task_id))}
            slots = {slot.output_id: slot for slot in result.slots}
            retry_delay = 0.0
            now = utcnow()
            for output in outputs.values():
                if output.status != OutputStatus.pending:
                    continue  # already final: a duplicate result never writes twice
                slot = slots.get(output.id) or SlotResult(
                    output_id=output.id,
                    status="failed",
                    error=SlotError(
                        kind=ErrorKind.transient, message="the worker skipped this slot"
                    ),
                )
                output.input_tokens += slot.usage.input_tokens
                output.output_tokens += slot.usage.output_tokens
                output.duration_ms = slot.duration_ms
                if slot.status == "succeeded" and (slot.image or slot.storage_key):
                    self._store_image(job, output, slot)
                    output.status = OutputStatus.succeeded
                    output.error = output.error_kind = None
                    output.cost = price
                    output.finished_at = now
                    job.cost_actual = round((job.cost_actual or 0.0) + price, 6)
                    outcome.successes += 1
                    continue
                error = slot.error or SlotError(
                    kind=ErrorKind.internal, message="the worker returned no image and no error"
                )
                if error.kind is ErrorKind.rate_limited:
                    outcome.rate_limited.append(error.retry_after)
                if error.kind is ErrorKind.no_image:
                    output.no_image_answers += 1
                output.error_kind = error.kind.value
                output.error = error.message
                if job.status == JobStatus.cancelled:
                    output.status = OutputStatus.cancelled
                    output.finished_at = now
                    continue
                decision = decide(
                    error.kind,
                    attempts=output.attempt,
                    policy=self.policy,
                    rng=self._rng,
                    retry_after=error.retry_after,
                    no_image_answers=output.no_image_answers,
                )
                if decision.retry:
                    retry_delay = max(retry_delay, decision.delay)
                else:
                    output.status = (
                        OutputStatus.blocked
                        if error.kind is ErrorKind.blocked
                        else OutputStatus.failed
                    )
                    output.finished_at = now
                    if error.kind not in (ErrorKind.blocked, ErrorKind.invalid):
                        output.error = f"{error.message} ({decision.reason})"
            still_pending = [o for o in outputs.values() if o.status == OutputStatus.pending]
            task.handle = None
            if still_pending:
                task.status = TaskStatus.queued
                task.not_before = now + timedelta(seconds=retry_delay)
                task.last_error = "; ".join(sorted({o.error or "" for o in still_pending}))[:2000]
            else:
                task.status = TaskStatus.done
                task.finished_at = now
            self._refresh_job(s, job)
        return outcome

    def _store_image(self, job: Job, output: Output, slot: SlotResult) -> None:
        if slot.storage_key:  # a remote worker already uploaded it to the shared bucket
            output.storage_key = slot.storage_key
            output.mime_type = slot.image.mime_type if slot.image else output.mime_type
        else:
            assert slot.image is not None and slot.image.data_b64 is not None
            data = base64.b64decode(slot.image.data_b64)
            mime = slot.image.mime_type
            data = embed_metadata(
                data,
                mime,
                {
                    "prompt": output.prompt,
                    "model": output.model,
                    "seed": str(output.seed),
                    "bananabatch:job": job.id,
                    "bananabatch:output": output.id,
                },
            )
            key = output_key(job.id, output.id, EXT_FOR_MIME.get(mime, "bin"))
            self._storage.put_bytes(key, data)
            try:
                self._storage.put_bytes(output_thumb_key(job.id, output.id), make_thumbnail(data))
            except Exception:
                log.exception(
                    "thumbnail for output %s failed; the image itself is stored", output.id
                )
            output.storage_key = key
            output.mime_type = mime
        output.width = slot.width
        output.height = slot.height

    def _refresh_job(self, s: Session, job: Job) -> None:
        """Recompute a job's status from its outputs and bump its revision."""
        counts = dict(
            s.execute(
                select(Output.status, func.count())
                .where(Output.job_id == job.id)
                .group_by(Output.status)
            ).all()
        )
        pending = counts.get(OutputStatus.pending, 0)
        job.revision = (job.revision or 0) + 1
        if job.status == JobStatus.cancelled or pending:
            return
        succeeded = counts.get(OutputStatus.succeeded, 0)
        failed = counts.get(OutputStatus.failed, 0) + counts.get(OutputStatus.blocked, 0)
        if failed == 0:
            job.status = JobStatus.completed
        elif succeeded == 0:
            job.status = JobStatus.failed
            job.error = "no output succeeded; see each output's error"
        else:
            job.status = JobStatus.completed_with_errors
        job.finished_at = utcnow()

    # ---- dispatching ---------------------------------------------------------------------

    async def _dispatch(self) -> bool:
        room = min(
            self.limiter.available(len(self._in_flight)),
            self._executor.max_in_flight - len(self._in_flight),
        )
        if room <= 0 or self._stopping:
            return False
        claimed = await asyncio.to_thread(self._claim, room)
        if not claimed:
            return False
        payloads = [p for _, p in claimed]
        try:
            handles = await self._executor.submit(payloads)
        except Exception as exc:
            log.exception("executor %s refused %d task(s)", self._executor.name, len(payloads))
            for task_id, _ in claimed:
                await asyncio.to_thread(
                    self._fail_task, task_id, ErrorKind.transient, f"submit failed: {exc}"
                )
            return True
        await asyncio.to_thread(self._record_handles, claimed, handles)
        loop_now = asyncio.get_running_loop().time()
        for (task_id, payload), handle in zip(claimed, handles, strict=True):
            self._in_flight[task_id] = (payload.job_id, handle)
            self._last_served[payload.job_id] = loop_now
        return True

    def _record_handles(self, claimed: list[tuple[str, TaskPayload]], handles: list[str]) -> None:
        with session_scope(self._sf) as s:
            for (task_id, _), handle in zip(claimed, handles, strict=True):
                s.execute(update(Task).where(Task.id == task_id).values(handle=handle))

    def _allocate(self, runnable: list[tuple[str, int, int]], room: int) -> dict[str, int]:
        """Share `room` slots: highest priority first, round-robin within a priority,
        starting with the job that has the fewest tasks in flight and waited longest."""
        in_flight_by_job: dict[str, int] = {}
        for job_id, _ in self._in_flight.values():
            in_flight_by_job[job_id] = in_flight_by_job.get(job_id, 0) + 1
        alloc: dict[str, int] = {}
        for priority in sorted({p for _, p, _ in runnable}, reverse=True):
            level = sorted(
                ((job_id, avail) for job_id, p, avail in runnable if p == priority),
                key=lambda j: (in_flight_by_job.get(j[0], 0), self._last_served.get(j[0], 0.0)),
            )
            while room > 0 and level:
                for job_id, avail in list(level):
                    if room == 0:
                        break
                    if alloc.get(job_id, 0) < avail:
                        alloc[job_id] = alloc.get(job_id, 0) + 1
                        room -= 1
                    else:
                        level.remove((job_id, avail))
            if room == 0:
                break
        return alloc

    def _claim(self, room: int) -> list[tuple[str, TaskPayload]]:
        now = utcnow()
        ready = (
            Task.status == TaskStatus.queued,
            or_(Task.not_before.is_(None), Task.not_before <= now),
        )
        claimed: list[tuple[str, TaskPayload]] = []
        with session_scope(self._sf) as s:
            runnable = [
                (job_id, priority, n)
                for job_id, priority, n in s.execute(
                    select(Task.job_id, Job.priority, func.count())
                    .join(Job, Job.id == Task.job_id)
                    .where(*ready, Job.status.in_(RUNNABLE_JOB_STATUSES))
                    .group_by(Task.job_id, Job.priority)
                ).all()
            ]
            for job_id, n in self._allocate(runnable, room).items():
                job = s.get_one(Job, job_id)
                tasks = s.scalars(
                    select(Task)
                    .join(Batch, Batch.id == Task.batch_id)
                    .where(Task.job_id == job_id, *ready)
                    .order_by(Batch.position, Task.position)
                    .limit(n)
                ).all()
                refs_cache: dict[str, ImageRef] = {}
                for task in tasks:
                    payload = self._claim_task(s, job, task, refs_cache, now)
                    if payload is not None:
                        claimed.append((task.id, payload))
                self._refresh_job(s, job)
        return claimed

    def _claim_task(
        self, s: Session, job: Job, task: Task, refs_cache: dict[str, ImageRef], now: Any
    ) -> TaskPayload | None:
        outputs = s.scalars(
            select(Output)
            .where(Output.task_id == task.id, Output.status == OutputStatus.pending)
            .order_by(Output.position)
        ).all()
        if not outputs:
            task.status = TaskStatus.done
            task.finished_at = now
            return None
        took = s.execute(
            update(Task)
            .where(Task.id == task.id, Task.status == TaskStatus.queued)
            .values(
                status=TaskStatus.dispatched,
                attempts=Task.attempts + 1,
                executor=self._executor.name,
                dispatched_at=now,
                handle=None,
            )
        )
        if getattr(took, "rowcount", 1) != 1:
            return None  # cancelled under our feet
        for output in outputs:
            output.attempt += 1
        if job.status == JobStatus.queued:
            job.status = JobStatus.running
            job.started_at = job.started_at or now
        asset_ids = (
            [task.source_asset_id]
            if job.mode == Mode.automatic and task.source_asset_id
            else [str(a) for a in job.reference_asset_ids]
        )
        references = [self._reference(s, asset_id, refs_cache) for asset_id in asset_ids]
        return TaskPayload(
            task_id=task.id,
            job_id=job.id,
            mode=Mode(job.mode),
            provider="gemini" if job.provider == "gemini" else "classic",
            model=job.model,
            options=GenerationOptions.model_validate(job.options or {}),
            references=references,
            slots=[
                OutputSlot(output_id=o.id, prompt=o.prompt, seed=o.seed, variation=o.variation)
                for o in outputs
            ],
        )

    def _reference(self, s: Session, asset_id: str, cache: dict[str, ImageRef]) -> ImageRef:
        if asset_id not in cache:
            asset = s.get_one(Asset, asset_id)
            data = self._storage.get_bytes(asset.storage_key)
            cache[asset_id] = ImageRef(
                mime_type=asset.mime_type,
                data_b64=base64.b64encode(data).decode(),
                name=asset.storage_key.rsplit("/", 1)[-1],
            )
        return cache[asset_id]
