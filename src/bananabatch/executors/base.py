"""The executor port.

Shaped so that one call can cover many tasks (`submit` takes a list and `poll`
answers for many handles): the local pool and RunPod submit one task per handle,
while a Gemini Batch API executor can put many tasks behind one remote job and
answer them hours later.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from bananabatch.contracts import TaskPayload, TaskResult


class RemoteState(StrEnum):
    queued = "queued"
    running = "running"
    completed = "completed"  # `result` is set
    failed = "failed"  # the whole task failed (worker crash, TIMED_OUT): transient
    lost = "lost"  # the executor no longer knows the handle (restart, expiry): re-queue
    cancelled = "cancelled"


@dataclass(frozen=True)
class TaskStatusReport:
    handle: str
    state: RemoteState
    result: TaskResult | None = None
    error: str | None = None


class Executor(Protocol):
    name: str
    max_in_flight: int

    async def submit(self, payloads: list[TaskPayload]) -> list[str]:
        """Start the tasks; returns one handle per payload, in order."""
        ...

    async def poll(self, handles: list[str]) -> list[TaskStatusReport]: ...

    async def cancel(self, handle: str) -> None: ...

    async def health(self) -> dict[str, object]: ...

    async def aclose(self) -> None: ...
