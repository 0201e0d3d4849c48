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
import logging
import random
from dataclasses import dataclass, field
from datetime import timedelta

from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bananabatch.catalog import Catalog
from bananabatch.contracts import ErrorKind, SlotError, SlotResult, TaskResult
from bananabatch.db.models import Job, JobStatus, Output, OutputStatus, Task, TaskStatus, utcnow
from bananabatch.db.session import session_scope
from bananabatch.domain.pricing import output_cost
from bananabatch.executors.base import RemoteState, TaskStatusReport
from bananabatch.ingest.thumbnails import make_thumbnail
from bananabatch.orchestrator.retry import RetryPolicy, decide
from bananabatch.quality.service import record_output
from bananabatch.storage.base import Storage
from bananabatch.storage.keys import output_key, output_thumb_key

log = logging.getLogger(__name__)

EXT_FOR_MIME = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}
MIME_FOR_EXT = {v: k for k, v in EXT_FOR_MIME.items()}
EXT_FOR_FORMAT = {"png": "png", "jpeg": "jpg", "webp": "webp"}


@dataclass
class Outcome:
    """What persisting one task result taught the limiter."""

    successes: int = 0
    rate_limited: list[float | None] = field(default_factory=list)


def refresh_job(s: Session, job: Job) -> None:
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


def slot_key(job: Job, output_id: str) -> str:
    """The key a remote worker uploads this output to (fixed by the slot)."""
    fmt = str((job.options or {}).get("output_format") or "png")
    return output_key(job.id, output_id, EXT_FOR_FORMAT.get(fmt, "png"))


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

    def settle(self, task_id: str, report: TaskStatusReport) -> Outcome:
        self._record_timings(task_id, report)
        if report.state is RemoteState.completed and report.result is not None:
            return self.apply_result(task_id, report.result)
        if report.state is RemoteState.lost and not report.counts_as_attempt:
            self.requeue(task_id, report.error or "the task was interrupted")
            return Outcome()
        if report.state is RemoteState.cancelled and self._job_status(task_id) == JobStatus.paused:
            self.requeue(task_id, "withdrawn from the executor's queue while paused")
            return Outcome()
        message = report.error or f"task {report.state.value}"
        return self.fail_task(task_id, ErrorKind.transient, message)

    def _job_status(self, task_id: str) -> str | None:
        with self._sf() as s:
            return s.scalar(
                select(Job.status).join(Task, Task.job_id == Job.id).where(Task.id == task_id)
            )

    def _record_timings(self, task_id: str, report: TaskStatusReport) -> None:
        if report.delay_ms is None and report.execution_ms is None and report.worker is None:
            return
        with session_scope(self._sf) as s:
            task = s.get(Task, task_id)
            if task is not None:
                task.delay_ms = report.delay_ms
                task.execution_ms = report.execution_ms
                task.worker = report.worker

    def requeue(self, task_id: str, reason: str) -> None:
        """Back to the queue without charging the attempt to the outputs."""
        with session_scope(self._sf) as s:
            task = s.get(Task, task_id)
            if task is not None and task.status == TaskStatus.dispatched:
                self.requeue_in(s, task, reason)
                refresh_job(s, s.get_one(Job, task.job_id))

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

    def fail_task(self, task_id: str, kind: ErrorKind, message: str) -> Outcome:
        with session_scope(self._sf) as s:
            task = s.get(Task, task_id)
            if task is None or task.status != TaskStatus.dispatched:
                return Outcome()
            pending = s.scalars(
                select(Output).where(
                    Output.task_id == task_id, Output.status == OutputStatus.pending
                )
            ).all()
            result = TaskResult(
                task_id=task_id,
                slots=[
                    SlotResult(
                        output_id=o.id, status="failed", error=SlotError(kind=kind, message=message)
                    )
                    for o in pending
                ],
            )
        return self.apply_result(task_id, result)

    def adopt_uploaded(self, s: Session, job: Job, outputs: list[Output]) -> int:
        """Outputs a remote worker delivered before its result was lost: take them as
        they are (they are paid for) instead of generating them again."""
        adopted = 0
        price = self._price(job)
        for output in outputs:
            key = slot_key(job, output.id)
            if output.status != OutputStatus.pending or not self._storage.exists(key):
                continue
            output.storage_key = key
            output.mime_type = MIME_FOR_EXT.get(key.rsplit(".", 1)[-1], "image/png")
            output.width, output.height = self._dimensions(key)
            self._succeed(job, output, price)
            adopted += 1
            log.info("adopted output %s that a worker had already uploaded", output.id)
        return adopted

    def _dimensions(self, key: str) -> tuple[int | None, int | None]:
        try:
            with self._storage.open(key) as fh, Image.open(fh) as im:
                return im.size
        except Exception:  # the image is stored either way; its size is cosmetic
            log.warning("could not read the size of %s", key)
            return None, None

    def _price(self, job: Job) -> float:
        model_info, _ = self._catalog.resolve(job.model)
        return output_cost(model_info, job.options.get("image_size"))

    def _succeed(self, job: Job, output: Output, price: float) -> None:
        output.status = OutputStatus.succeeded
        output.error = output.error_kind = None
        output.cost = price
        output.finished_at = utcnow()
        job.cost_actual = round((job.cost_actual or 0.0) + price, 6)

    def apply_result(self, task_id: str, result: TaskResult) -> Outcome:
        outcome = Outcome()
        with session_scope(self._sf) as s:
            task = s.get(Task, task_id)
            if task is None or task.status != TaskStatus.dispatched:
                log.warning("ignoring a result for task %s that is not dispatched", task_id)
                return outcome
            job = s.get_one(Job, task.job_id)
            price = self._price(job)
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
                    problem = self._store_image(job, output, slot)
                    if problem is None:
                        self._succeed(job, output, price)
                        record_output(s, job, output, slot)  # labels, checks, quality flags
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
                previous = ErrorKind(output.error_kind) if output.error_kind else None
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
                    previous_kind=previous,
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
            task.remote_state = None
            if still_pending:
                task.status = TaskStatus.queued
                task.not_before = now + timedelta(seconds=retry_delay)
                task.last_error = "; ".join(sorted({o.error or "" for o in still_pending}))[:2000]
            else:
                task.status = TaskStatus.done
                task.finished_at = now
            refresh_job(s, job)
        return outcome

    def _store_image(self, job: Job, output: Output, slot: SlotResult) -> str | None:
        """Persist one image; a reason when it cannot be trusted (then it runs again)."""
        if slot.storage_key:  # a remote worker uploaded it to its slot's fixed key
            expected = slot_key(job, output.id)
            if slot.storage_key != expected:
                return f"the worker uploaded to an unexpected key {slot.storage_key!r}"
            if not self._storage.exists(expected):
                return "the worker reported an upload that is not in storage"
            output.storage_key = expected
            output.mime_type = slot.mime_type or MIME_FOR_EXT.get(expected.rsplit(".", 1)[-1])
        else:
            assert slot.image is not None and slot.image.data_b64 is not None
            data = base64.b64decode(slot.image.data_b64)
            mime = slot.image.mime_type
            key = output_key(job.id, output.id, EXT_FOR_MIME.get(mime, "bin"))
            self._storage.put_bytes(key, data)  # metadata was embedded by the worker
            try:
                self._storage.put_bytes(output_thumb_key(job.id, output.id), make_thumbnail(data))
            except Exception:
                log.exception("thumbnail for output %s failed; the image is stored", output.id)
            output.storage_key = key
            output.mime_type = mime
        output.width = slot.width
        output.height = slot.height
        return None
