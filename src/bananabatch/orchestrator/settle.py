"""Settling: turning what an executor reported into durable output and task states.

- an image is in storage before its row says `succeeded`; a result for a task that
  is no longer dispatched (a duplicate completion) never writes twice;
- an image a remote worker uploaded lands at the key fixed by its output slot, so
  after a lost result it is adopted instead of being generated (and paid) again;
- a loss that is ours (this process restarted) or a withdrawal because the user
  paused does not use up the user's retry budget.
"""

from __future__ import annotations

import base64
import dataclasses
import logging
import random
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bananabatch.catalog import Catalog
from bananabatch.contracts import ErrorKind, PaidCall, Route, SlotError, SlotResult, TaskResult
from bananabatch.db.models import (
    Job,
    JobStatus,
    Output,
    OutputStatus,
    Task,
    TaskStatus,
    utcnow,
)
from bananabatch.db.session import write_scope
from bananabatch.executors.base import RemoteState, TaskStatusReport
from bananabatch.orchestrator.charge import charge, insert_ledger
from bananabatch.orchestrator.job_state import refresh_job
from bananabatch.orchestrator.retry import RetryPolicy, decide
from bananabatch.orchestrator.slots import (
    accept_image,
    mime_of_key,
    slot_key,
    stored_size,
    succeed,
)
from bananabatch.quality.service import Recorded, record_outputs
from bananabatch.storage.base import Storage
from bananabatch.storage.keys import EXT_FOR_MIME, output_key

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    """What persisting one task result taught the limiter."""

    successes: int = 0
    rate_limited: list[float | None] = field(default_factory=list)


@dataclass
class _Round:
    """What a settle round writes in bulk when it is decided, in its transaction."""

    recorded: list[Recorded] = field(default_factory=list)
    ledger: list[dict[str, Any]] = field(default_factory=list)

    def write(self, s: Session) -> None:
        insert_ledger(s, self.ledger)
        record_outputs(s, self.recorded)


@dataclass(frozen=True)
class _Loaded:
    tasks: list[Task]
    jobs: list[Job]
    outputs: dict[str, list[Output]]  # the pending and final outputs of each live task


class Settler:
    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        storage: Storage,
        catalog: Catalog,
        policy: RetryPolicy,
        rng: random.Random,
    ) -> None:
        self._sf = session_factory
        self._storage = storage
        self._catalog = catalog
        self.policy = policy
        self._rng = rng

    def settle_many(self, reports: list[tuple[str, TaskStatusReport]]) -> list[Outcome]:
        """Settle finished tasks in one transaction; each job is recounted once. Images
        that came back inline are written first, outside the write transaction.

        The round's tasks, jobs and outputs are read with one query each, nothing is
        flushed until the round is decided, and the quality flags of every stored output
        are decided together (`record_outputs`): a flush and a few queries per output
        were most of the orchestrator's database time."""
        reports = [(task_id, self._prewrite(task_id, r)) for task_id, r in reports]
        touched: dict[str, Job] = {}
        rnd = _Round()
        with write_scope(self._sf) as s:
            with s.no_autoflush:
                loaded = self._load_round(s, [task_id for task_id, _ in reports])
                outcomes = [
                    self._settle_in(s, task_id, r, touched, loaded.outputs, rnd)
                    for task_id, r in reports
                ]
            rnd.write(s)
            for job in touched.values():
                refresh_job(s, job)
        return outcomes

    @staticmethod
    def _load_round(s: Session, task_ids: list[str]) -> _Loaded:
        """Read the round's tasks, jobs and the outputs of its dispatched tasks (by task),
        one query each. The caller holds them: the session's identity map keeps objects
        only while something refers to them, and `get` then needs no query."""
        ids = list(dict.fromkeys(task_ids))
        tasks = list(s.scalars(select(Task).where(Task.id.in_(ids))))
        job_ids = {t.job_id for t in tasks}
        jobs = (
            list(s.scalars(select(Job).where(Job.id.in_(job_ids)).with_for_update()))
            if job_ids
            else []
        )
        live = [t.id for t in tasks if t.status == TaskStatus.dispatched]
        by_task: dict[str, list[Output]] = {t: [] for t in live}
        if live:
            for o in s.scalars(
                select(Output).where(Output.task_id.in_(live)).order_by(Output.position)
            ):
                by_task[o.task_id].append(o)
        return _Loaded(tasks, jobs, by_task)

    def _prewrite(self, task_id: str, report: TaskStatusReport) -> TaskStatusReport:
        result = report.result
        if result is None or not any(sl.image and sl.image.data_b64 for sl in result.slots):
            return report
        with self._sf() as s:
            job_id = s.scalar(select(Task.job_id).where(Task.id == task_id))
        if job_id is None:
            return report
        slots = []
        for slot in result.slots:
            if slot.status == "succeeded" and slot.image and slot.image.data_b64:
                mime = slot.image.mime_type
                key = output_key(job_id, slot.output_id, EXT_FOR_MIME.get(mime, "png"))
                self._storage.put_bytes(key, base64.b64decode(slot.image.data_b64))
                slot = slot.model_copy(
                    update={"image": None, "storage_key": key, "mime_type": mime}
                )
            slots.append(slot)
        return dataclasses.replace(report, result=result.model_copy(update={"slots": slots}))

    def settle(self, task_id: str, report: TaskStatusReport) -> Outcome:
        return self.settle_many([(task_id, report)])[0]

    def apply_result(self, task_id: str, result: TaskResult) -> Outcome:
        report = TaskStatusReport("", RemoteState.completed, result=result)
        return self.settle(task_id, report)

    def fail_task(self, task_id: str, kind: ErrorKind, message: str) -> Outcome:
        with write_scope(self._sf) as s:
            task = s.get(Task, task_id)
            if task is None or task.status != TaskStatus.dispatched:
                return Outcome()
            job = s.get_one(Job, task.job_id, with_for_update=True)
            outcome = self._apply_in(s, job, task, self._failed(s, task_id, kind, message))
            refresh_job(s, job)
        return outcome

    @staticmethod
    def _failed(s: Session, task_id: str, kind: ErrorKind, message: str) -> TaskResult:
        pending = s.scalars(
            select(Output).where(Output.task_id == task_id, Output.status == OutputStatus.pending)
        ).all()
        return TaskResult(
            task_id=task_id,
            slots=[
                SlotResult(
                    output_id=o.id, status="failed", error=SlotError(kind=kind, message=message)
                )
                for o in pending
            ],
        )

    def requeue(self, task_id: str, reason: str) -> None:
        """Back to the queue without charging the attempt to the outputs."""
        report = TaskStatusReport("", RemoteState.lost, error=reason, counts_as_attempt=False)
        self.settle(task_id, report)

    def _settle_in(
        self,
        s: Session,
        task_id: str,
        report: TaskStatusReport,
        touched: dict[str, Job],
        outputs: dict[str, list[Output]],
        rnd: _Round,
    ) -> Outcome:
        task = s.get(Task, task_id)
        if task is None or task.status != TaskStatus.dispatched:
            log.warning("ignoring a result for task %s that is not dispatched", task_id)
            return Outcome()
        job = touched.get(task.job_id) or s.get_one(Job, task.job_id)
        touched[job.id] = job
        if report.delay_ms is not None or report.execution_ms is not None or report.worker:
            task.delay_ms = report.delay_ms
            task.execution_ms = report.execution_ms
            task.worker = report.worker
        if report.state is RemoteState.completed and report.result is not None:
            return self._apply_in(s, job, task, report.result, outputs.get(task.id), rnd)
        if report.state in (RemoteState.queued, RemoteState.running):
            return self._apply_early(s, job, task, report.result, outputs.get(task.id), rnd)
        withdrawn = report.state is RemoteState.cancelled and job.status == JobStatus.paused
        if (report.state is RemoteState.lost and not report.counts_as_attempt) or withdrawn:
            reason = report.error or "withdrawn from the executor's queue while paused"
            self.requeue_in(s, task, reason)
            return Outcome()
        message = report.error or f"task {report.state.value}"
        failed = self._failed(s, task_id, ErrorKind.transient, message)
        return self._apply_in(s, job, task, failed, outputs.get(task.id), rnd)

    def _apply_early(
        self,
        s: Session,
        job: Job,
        task: Task,
        result: TaskResult | None,
        outputs: list[Output] | None,
        rnd: _Round,
    ) -> Outcome:
        """Store the succeeded slots of a task still running; its other slots (and any
        retry decision) wait for the task's final result."""
        outcome = Outcome()
        if result is None:
            return outcome
        ids = {sl.output_id for sl in result.slots if sl.status == "succeeded"}
        by_id = {o.id: o for o in outputs or [] if o.id in ids}
        for slot in result.slots:
            output = by_id.get(slot.output_id)
            if output is None or output.status != OutputStatus.pending:
                continue
            output.input_tokens += slot.usage.input_tokens
            output.output_tokens += slot.usage.output_tokens
            output.duration_ms = slot.duration_ms
            calls = slot.calls or [PaidCall(outcome="image")]
            charge(s, self._catalog, job, task.id, output, calls, ledger=rnd.ledger)
            if accept_image(self._storage, job, output, slot) is None:
                succeed(output)
                rnd.recorded.append((job, output, slot))  # labels, checks, quality flags
                outcome.successes += 1
        return outcome

    def requeue_in(self, s: Session, task: Task, reason: str) -> None:
        # task.attempts still counts the dispatch: a worker may have uploaded images
        # for it, which the next claim adopts.
        for output in s.scalars(
            select(Output).where(Output.task_id == task.id, Output.status == OutputStatus.pending)
        ):
            output.attempt = max(0, output.attempt - 1)
        task.status = TaskStatus.queued
        task.handle = None
        task.remote_state = None
        task.last_error = reason

    def adopt_uploaded(self, s: Session, job: Job, outputs: list[Output]) -> int:
        """Outputs a remote worker delivered before its result was lost: take them as
        they are (they are paid for) instead of generating them again."""
        adopted = 0
        for output in outputs:
            key = slot_key(job, output.id)
            if output.status != OutputStatus.pending or not self._storage.exists(key):
                continue
            output.storage_key = key
            output.mime_type = mime_of_key(key)
            output.width, output.height = stored_size(self._storage, key)
            succeed(output)
            # its call never reached us: charged per image, as the worst case
            route: Route = "batch" if job.route == "batch" else "standard"
            charge(
                s,
                self._catalog,
                job,
                output.task_id,
                output,
                [PaidCall(outcome="image", route=route)],
            )
            adopted += 1
            log.info("adopted output %s that a worker had already uploaded", output.id)
        return adopted

    def _apply_in(
        self,
        s: Session,
        job: Job,
        task: Task,
        result: TaskResult,
        loaded: list[Output] | None = None,
        rnd: _Round | None = None,
    ) -> Outcome:
        """Apply a task's final result. `loaded`: its outputs, when the caller read them
        already; `rnd`: the caller's round, written in bulk by the caller (else here)."""
        own = rnd is None
        rnd = _Round() if rnd is None else rnd
        outcome = Outcome()
        if loaded is None:
            loaded = list(s.scalars(select(Output).where(Output.task_id == task.id)))
        outputs = {o.id: o for o in loaded}
        slots = {slot.output_id: slot for slot in result.slots}
        retry_delay = 0.0
        now = utcnow()
        for output in outputs.values():
            if output.status != OutputStatus.pending:
                # already final: a duplicate result never writes twice, but it was paid for
                duplicate = slots.get(output.id)
                if duplicate is not None:
                    charge(
                        s,
                        self._catalog,
                        job,
                        task.id,
                        output,
                        duplicate.calls,
                        duplicate=True,
                        ledger=rnd.ledger,
                    )
                continue
            slot = slots.get(output.id) or SlotResult(
                output_id=output.id,
                status="failed",
                error=SlotError(kind=ErrorKind.transient, message="the worker skipped this slot"),
            )
            output.input_tokens += slot.usage.input_tokens
            output.output_tokens += slot.usage.output_tokens
            output.duration_ms = slot.duration_ms
            calls = slot.calls
            if not calls and slot.status == "succeeded":  # a worker that reports no calls
                calls = [PaidCall(outcome="image", usage=slot.usage)]
            charge(s, self._catalog, job, task.id, output, calls, ledger=rnd.ledger)
            if slot.status == "succeeded" and slot.storage_key:
                problem = accept_image(self._storage, job, output, slot)
                if problem is None:
                    succeed(output)
                    rnd.recorded.append((job, output, slot))  # labels, checks, quality flags
                    outcome.successes += 1
                    continue
                slot = slot.model_copy(
                    update={"error": SlotError(kind=ErrorKind.transient, message=problem)}
                )
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
                    OutputStatus.blocked if error.kind is ErrorKind.blocked else OutputStatus.failed
                )
                output.finished_at = now
                if error.kind not in (ErrorKind.blocked, ErrorKind.invalid):
                    output.error = f"{error.message} ({decision.reason})"
        still_pending = [o for o in outputs.values() if o.status == OutputStatus.pending]
        task.handle = None
        task.remote_state = None
        if still_pending:
            task.status = TaskStatus.queued
            task.not_before = now + timedelta(seconds=retry_delay)
            task.last_error = "; ".join(sorted({o.error or "" for o in still_pending}))[:2000]
        else:
            task.status = TaskStatus.done
            task.finished_at = now
        if own:
            rnd.write(s)
        return outcome
