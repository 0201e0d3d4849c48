"""Claiming: which queued tasks go out next, and the payloads they travel as.

Fair across jobs (highest priority first, round-robin within a priority, the job
with the fewest tasks in flight and the longest wait first), and durable: a task
is marked `dispatched` (and its outputs' attempt counted) before it is submitted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from bananabatch.catalog import Catalog
from bananabatch.contracts import GenerationOptions, Mode, OutputSlot, Route, TaskPayload
from bananabatch.datasets.service import task_labels
from bananabatch.db.models import (
    Asset,
    Batch,
    GeminiBatch,
    GeminiBatchLine,
    Job,
    JobStatus,
    Output,
    OutputStatus,
    Task,
    TaskStatus,
    utcnow,
)
from bananabatch.db.session import write_scope
from bananabatch.errors import BananaBatchError, NotFound
from bananabatch.executors.gemini_batch_records import DEAD_STATES
from bananabatch.executors.transport import LocalPayloadBuilder, PayloadBuilder, StoredImage
from bananabatch.orchestrator.budget import BudgetGuard, hold, release_daily_holds
from bananabatch.orchestrator.job_state import refresh_job
from bananabatch.orchestrator.settle import Settler

log = logging.getLogger(__name__)

RUNNABLE_JOB_STATUSES = (JobStatus.queued, JobStatus.running)


@dataclass(frozen=True)
class Claimed:
    task_id: str
    job_id: str
    payload: TaskPayload | None  # None: the payload could not be built (`problem` says why)
    problem: str | None = None


def allocate(
    runnable: list[tuple[str, int, int]],
    room: int,
    in_flight_by_job: dict[str, int],
    last_served: dict[str, float],
) -> dict[str, int]:
    """Share `room` slots among (job, priority, tasks available)."""
    alloc: dict[str, int] = {}
    for priority in sorted({p for _, p, _ in runnable}, reverse=True):
        level = sorted(
            ((job_id, avail) for job_id, p, avail in runnable if p == priority),
            key=lambda j: (in_flight_by_job.get(j[0], 0), last_served.get(j[0], 0.0)),
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


def runnable_jobs(s: Session, ready: tuple[Any, ...], room: int) -> list[tuple[str, int, int]]:
    """(job, priority, ready tasks) of each job that can run, counting at most `room`
    tasks a job (all `allocate` can use): counting them all took 19 ms a round for a
    100,000-output job; `ix_tasks_job_status` answers this in microseconds."""
    if room <= 0:
        return []
    ready_here = select(Task.id).where(Task.job_id == Job.id, *ready).correlate(Job).limit(room)
    available = select(func.count()).select_from(ready_here.subquery()).scalar_subquery()
    rows = s.execute(
        select(Job.id, Job.priority, available).where(Job.status.in_(RUNNABLE_JOB_STATUSES))
    ).all()
    return [(job_id, priority, n) for job_id, priority, n in rows if n]


class Claimer:
    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        builder: PayloadBuilder,
        settler: Settler,
        executor_name: str,
        catalog: Catalog,
        daily_budget: float | None = None,
    ) -> None:
        self._sf = session_factory
        self._builder = builder
        self._local_builder = LocalPayloadBuilder()
        self._settler = settler
        self._executor_name = executor_name
        self._catalog = catalog
        self._daily_budget = daily_budget

    def claim(
        self, room: int, in_flight_by_job: dict[str, int], last_served: dict[str, float]
    ) -> list[Claimed]:
        now = utcnow()
        ready = (
            Task.status == TaskStatus.queued,
            or_(Task.not_before.is_(None), Task.not_before <= now),
        )
        claimed: list[Claimed] = []
        with write_scope(self._sf) as s:
            if self._daily_budget is not None:
                release_daily_holds(s)
            guard = BudgetGuard.load(s, self._catalog, self._daily_budget)
            runnable = runnable_jobs(s, ready, room)
            for job_id, n in allocate(runnable, room, in_flight_by_job, last_served).items():
                claimed.extend(
                    self._claim_job(
                        s, s.get_one(Job, job_id, with_for_update=True), n, ready, now, guard
                    )
                )
        return claimed

    def _claim_job(
        self, s: Session, job: Job, n: int, ready: tuple[Any, ...], now: Any, guard: BudgetGuard
    ) -> list[Claimed]:
        """Claim up to `n` of this job's next tasks with a handful of statements: the
        tasks, their pending outputs and their source images are read at once and the
        tasks are marked dispatched by one conditional UPDATE."""
        tasks = s.scalars(
            select(Task)
            .join(Batch, Batch.id == Task.batch_id)
            .where(Task.job_id == job.id, *ready)
            .order_by(Batch.position, Task.position)
            .limit(n)
        ).all()
        if not tasks:
            return []
        pending: dict[str, list[Output]] = {t.id: [] for t in tasks}
        for o in s.scalars(
            select(Output)
            .where(Output.task_id.in_(pending), Output.status == OutputStatus.pending)
            .order_by(Output.position)
        ):
            pending[o.task_id].append(o)
        finished = False
        chosen: list[tuple[Task, list[Output]]] = []
        for task in tasks:
            outputs = pending[task.id]
            if outputs and task.attempts > 0 and self._settler.adopt_uploaded(s, job, outputs):
                outputs = [o for o in outputs if o.status == OutputStatus.pending]
            if not outputs:  # adopted uploads completed it
                task.status = TaskStatus.done
                task.finished_at = now
                finished = True
                continue
            reason = guard.hold_reason(job, len(outputs))
            if reason is not None:
                hold(job, reason)
                finished = True  # held at a budget cap
                break
            guard.commit(job, len(outputs))
            chosen.append((task, outputs))
        claimed = self._take(s, job, chosen, now) if chosen else []
        if finished:  # adopted uploads may have completed the job
            refresh_job(s, job)
        else:  # the cheap path: nothing final changed, only the revision moves
            job.revision = (job.revision or 0) + 1
        return claimed

    def _take(
        self, s: Session, job: Job, chosen: list[tuple[Task, list[Output]]], now: Any
    ) -> list[Claimed]:
        """Mark the chosen tasks dispatched (those still queued: a cancel may have come
        first) and build their payloads."""
        taken = set(
            s.scalars(
                update(Task)
                .where(Task.id.in_([t.id for t, _ in chosen]), Task.status == TaskStatus.queued)
                .values(
                    status=TaskStatus.dispatched,
                    attempts=Task.attempts + 1,
                    executor=self._executor_name,
                    dispatched_at=now,
                    handle=None,
                    remote_state=None,
                )
                .returning(Task.id)
                # no in-session evaluation over every loaded task: nothing reads these
                # rows' status again before the claim commits
                .execution_options(synchronize_session=False)
            ).all()
        )
        if not taken:
            return []
        if job.status == JobStatus.queued:
            job.status = JobStatus.running
            job.started_at = job.started_at or now
        asset_ids = (
            {t.source_asset_id for t, _ in chosen if t.source_asset_id}
            if job.mode == Mode.automatic
            else {str(a) for a in job.reference_asset_ids}
        )
        assets = {a.id: a for a in s.scalars(select(Asset).where(Asset.id.in_(asset_ids)))}
        claimed = []
        for task, outputs in chosen:
            if task.id not in taken:
                continue  # cancelled under our feet
            for output in outputs:
                output.attempt += 1
            claimed.append(self._payload(s, job, task, outputs, assets))
        return claimed

    def _payload(
        self, s: Session, job: Job, task: Task, outputs: list[Output], assets: dict[str, Asset]
    ) -> Claimed:
        draft = TaskPayload(
            task_id=task.id,
            job_id=job.id,
            mode=Mode(job.mode),
            provider="gemini" if job.provider == "gemini" else "classic",
            model=job.model,
            options=GenerationOptions.model_validate(job.options or {}),
            slots=[
                OutputSlot(output_id=o.id, prompt=o.prompt, seed=o.seed, variation=o.variation)
                for o in outputs
            ],
            labels=task_labels(s, job, task.source_path),  # labelled datasets only
            route=self._route(s, job, [o.id for o in outputs]),
        )
        asset_ids = (
            [task.source_asset_id]
            if job.mode == Mode.automatic and task.source_asset_id
            else [str(a) for a in job.reference_asset_ids]
        )
        try:
            images = [self._stored(assets, asset_id) for asset_id in asset_ids]
            # the Batch API executor runs in this process: it reads and writes the store
            builder = self._local_builder if draft.route == "batch" else self._builder
            return Claimed(task.id, job.id, builder.build(draft, images))
        except (BananaBatchError, OSError) as exc:
            log.warning("task %s cannot be sent: %s", task.id, exc)
            return Claimed(task.id, job.id, None, problem=str(exc))

    @staticmethod
    def _route(s: Session, job: Job, output_ids: list[str]) -> Route:
        """The Batch API for a batch job, unless these outputs were in a batch that ended
        without results and the user asked for the standard route then."""
        if job.route != "batch":
            return "standard"
        if (job.spec or {}).get("batch_fallback") != "standard":
            return "batch"
        lost = s.scalar(
            select(func.count())
            .select_from(GeminiBatchLine)
            .join(GeminiBatch, GeminiBatch.id == GeminiBatchLine.batch_id)
            .where(GeminiBatchLine.output_id.in_(output_ids))
            .where(GeminiBatch.state.in_(DEAD_STATES))
        )
        return "standard" if lost else "batch"

    @staticmethod
    def _stored(assets: dict[str, Asset], asset_id: str) -> StoredImage:
        asset = assets.get(asset_id)
        if asset is None:
            raise NotFound(f"the source image {asset_id} is no longer stored")
        return StoredImage(
            asset_id=asset.id,
            key=asset.storage_key,
            mime_type=asset.mime_type,
            name=asset.storage_key.rsplit("/", 1)[-1],
        )
