"""The embedded executor: runs the worker pipeline in this process as asyncio
tasks, at most `max_in_flight` at once. Handles live only in memory, so after
a restart every old handle polls as `lost` and the orchestrator re-queues it."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

from bananabatch.contracts import SlotResult, TaskPayload, TaskResult
from bananabatch.executors.base import RemoteState, SubmitFailure, TaskStatusReport

log = logging.getLogger(__name__)
EARLY_REPORT_SECONDS = 1.0

Runner = Callable[[TaskPayload, Callable[[SlotResult], None]], Coroutine[Any, Any, TaskResult]]


class LocalExecutor:
    name = "local"

    def __init__(self, runner: Runner, *, max_in_flight: int) -> None:
        self._runner = runner
        self.max_in_flight = max_in_flight
        self._tasks: dict[str, asyncio.Task[TaskResult]] = {}
        self._wake: Callable[[], None] | None = None
        # Slots that finished before their task: reported at once (a slow sibling must
        # not keep finished images out of the database), and left out of the final result.
        self._early: dict[str, list[tuple[float, SlotResult]]] = {}
        self._reported: dict[str, set[str]] = {}

    def set_waker(self, wake: Callable[[], None]) -> None:
        self._wake = wake

    def _slot_done(self, handle: str, slot: SlotResult) -> None:
        if slot.status == "succeeded" and handle in self._early:
            self._early[handle].append((time.monotonic(), slot))

    def _done(self, _task: asyncio.Task[TaskResult]) -> None:
        if self._wake is not None:
            self._wake()

    async def submit(self, payloads: list[TaskPayload]) -> list[str | SubmitFailure]:
        handles: list[str | SubmitFailure] = []
        for payload in payloads:
            handle = f"local-{uuid.uuid4().hex}"
            self._early[handle] = []
            self._reported[handle] = set()
            task = asyncio.create_task(
                self._runner(payload, functools.partial(self._slot_done, handle)),
                name=f"task-{payload.task_id}",
            )
            task.add_done_callback(self._done)
            self._tasks[handle] = task
            handles.append(handle)
        return handles

    async def poll(self, handles: list[str]) -> list[TaskStatusReport]:
        reports = []
        for handle in handles:
            task = self._tasks.get(handle)
            if task is None:
                reports.append(
                    TaskStatusReport(
                        handle,
                        RemoteState.lost,
                        error="this process restarted while the task ran",
                        counts_as_attempt=False,
                    )
                )
            elif not task.done():
                reports.append(TaskStatusReport(handle, RemoteState.running, self._take(handle)))
            else:
                del self._tasks[handle]
                self._early.pop(handle, None)
                reported = self._reported.pop(handle, set())
                if task.cancelled():
                    reports.append(TaskStatusReport(handle, RemoteState.cancelled))
                elif (exc := task.exception()) is not None:
                    log.error("local task %s crashed: %r", handle, exc)
                    reports.append(
                        TaskStatusReport(
                            handle, RemoteState.failed, error=f"worker crashed: {exc!r}"
                        )
                    )
                else:
                    result = task.result()
                    rest = [sl for sl in result.slots if sl.output_id not in reported]
                    final = result.model_copy(update={"slots": rest})
                    reports.append(TaskStatusReport(handle, RemoteState.completed, final))
        return reports

    def _take(self, handle: str) -> TaskResult | None:
        """Slots of a running task that finished a while ago while a sibling is still
        busy (the orchestrator stores them now). Usually siblings finish together, and
        one settle for the whole task is cheaper: so only slots older than a second."""
        pending = self._early.get(handle)
        if not pending:
            return None
        cutoff = time.monotonic() - EARLY_REPORT_SECONDS
        early = [slot for at, slot in pending if at <= cutoff]
        if not early:
            return None
        self._early[handle] = [(at, slot) for at, slot in pending if at > cutoff]
        self._reported[handle].update(sl.output_id for sl in early)
        task_id = self._tasks[handle].get_name().removeprefix("task-")
        return TaskResult(task_id=task_id, slots=early)

    async def cancel(self, handle: str) -> bool:
        """In-process tasks start at once, so there is never a queued one to withdraw;
        a running one finishes and its paid-for images are stored."""
        return False

    async def health(self) -> dict[str, object]:
        return {
            "kind": self.name,
            "ok": True,
            "in_flight": len(self._tasks),
            "max": self.max_in_flight,
        }

    async def aclose(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        self._tasks.clear()
