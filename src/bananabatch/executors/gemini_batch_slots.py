"""What the Gemini batch executor remembers about its tasks' slots between polls:
the batch holding each slot, results read but not yet reported, and the report a
`poll` gets. In memory only: after a restart the records say where each slot is."""

from __future__ import annotations

from collections.abc import Mapping

from bananabatch.contracts import OutputSlot, SlotResult, TaskPayload, TaskResult
from bananabatch.executors.base import RemoteState, TaskStatusReport
from bananabatch.executors.gemini_batch_lines import BATCH_HANDLE_PREFIX
from bananabatch.executors.gemini_batch_records import LineRef

WORKER = "gemini-batch"


class SlotBook:
    def __init__(self) -> None:
        self.tasks: dict[str, TaskPayload] = {}
        self.batch_of: dict[str, str] = {}  # output id -> its live batch
        self.key_of: dict[str, str] = {}  # output id -> the line its result was read from
        self._results: dict[str, list[SlotResult]] = {}  # finished, not yet reported
        self._reported: dict[str, set[str]] = {}
        self._unacked: list[str] = []  # lines reported by the last poll, not marked done yet

    def track(self, payload: TaskPayload, live: Mapping[str, LineRef]) -> list[OutputSlot]:
        """Remember a submitted task; returns its slots to pack (a slot already in a live
        batch is never sent twice)."""
        self.tasks[payload.task_id] = payload
        self._results.setdefault(payload.task_id, [])
        self._reported.setdefault(payload.task_id, set())
        fresh = [s for s in payload.slots if s.output_id not in live]
        for s in payload.slots:
            if s.output_id in live:
                self.batch_of[s.output_id] = live[s.output_id].batch_id
        return fresh

    def withdraw(self, task_id: str) -> bool:
        """Forget a task none of whose slots is in a batch yet (once in one, it is paid)."""
        task = self.tasks.get(task_id)
        if task is None or any(s.output_id in self.batch_of for s in task.slots):
            return False
        self.forget(task_id)
        return True

    def take_unacked(self) -> list[str]:
        keys, self._unacked = self._unacked, []
        return keys

    def report(self, handle: str) -> TaskStatusReport:
        task_id = handle.removeprefix(BATCH_HANDLE_PREFIX)
        payload = self.tasks.get(task_id)
        if payload is None:  # this process restarted: the slots' batch is found again
            return TaskStatusReport(
                handle, RemoteState.lost, error="restarted", counts_as_attempt=False
            )
        waiting = self._results[task_id]
        finished = self._reported[task_id] | {r.output_id for r in waiting}
        complete = len(finished) >= len(payload.slots)
        # a running task reports only its images (stored at once); failures, blocks and
        # the retry decision go with the task's final result
        new = waiting if complete else [r for r in waiting if r.status == "succeeded"]
        self._results[task_id] = [r for r in waiting if r not in new]
        self._reported[task_id].update(r.output_id for r in new)
        self._unacked.extend(self.key_of[r.output_id] for r in new if r.output_id in self.key_of)
        result = TaskResult(task_id=task_id, slots=new, worker=WORKER) if new else None
        if complete:
            self.forget(task_id)
            return TaskStatusReport(handle, RemoteState.completed, result=result, worker=WORKER)
        state = RemoteState.running if result or self._any_running(payload) else RemoteState.queued
        return TaskStatusReport(handle, state, result=result, worker=WORKER)

    def _any_running(self, payload: TaskPayload) -> bool:
        return any(s.output_id in self.batch_of for s in payload.slots)

    def forget(self, task_id: str) -> None:
        payload = self.tasks.pop(task_id, None)
        for s in payload.slots if payload else []:
            self.batch_of.pop(s.output_id, None)
            self.key_of.pop(s.output_id, None)
        self._results.pop(task_id, None)
        self._reported.pop(task_id, None)

    def finish(self, task_id: str, result: SlotResult) -> bool:
        """Keep a slot's result for the next report; False when it is no longer wanted."""
        if task_id in self._results and result.output_id not in self._reported[task_id]:
            self._results[task_id].append(result)
            return True
        return False

    def wanted_batches(self) -> set[str]:
        """The batches holding a slot whose result is not reported yet."""
        return {
            self.batch_of[s.output_id]
            for task_id, p in self.tasks.items()
            for s in p.slots
            if s.output_id in self.batch_of and s.output_id not in self._reported[task_id]
        }

    def waiting_slots(self, batch_id: str) -> dict[str, tuple[TaskPayload, OutputSlot]]:
        """The slots of a batch with no result yet, by output id."""
        found: dict[str, tuple[TaskPayload, OutputSlot]] = {}
        for task_id, p in self.tasks.items():
            done = self._reported[task_id] | {r.output_id for r in self._results[task_id]}
            for s in p.slots:
                if self.batch_of.get(s.output_id) == batch_id and s.output_id not in done:
                    found[s.output_id] = (p, s)
        return found
