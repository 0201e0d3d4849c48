"""The executor port.

Shaped so that one call can cover many tasks (`submit` takes a list and `poll`
answers for many handles): the local pool and RunPod submit one task per handle,
while a Gemini Batch API executor can put many tasks behind one remote job and
answer them hours later.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from bananabatch.contracts import TaskPayload, TaskResult


class RemoteState(StrEnum):
    queued = "queued"
    running = "running"  # `result` may hold slots already finished (stored at once)
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
    # False when the loss is ours (this process restarted): the user's retry budget
    # must not pay for our crash.
    counts_as_attempt: bool = True
    delay_ms: int | None = None  # time spent queued at the executor
    execution_ms: int | None = None  # time spent running
    worker: str | None = None


@dataclass(frozen=True)
class SubmitFailure:
    """A payload the executor did not accept (the others in the same call may have been)."""

    error: str
    permanent: bool = False


class Executor(Protocol):
    name: str
    max_in_flight: int

    async def submit(self, payloads: list[TaskPayload]) -> list[str | SubmitFailure]:
        """Start the tasks; one handle (or failure) per payload, in order."""
        ...

    async def poll(self, handles: list[str]) -> list[TaskStatusReport]:
        """The state of each handle, in order. An executor may answer from what it last
        saw for handles it is not due to ask about (remote rate limits)."""
        ...

    async def cancel(self, handle: str) -> bool:
        """Withdraw a task that has not started; True when it was withdrawn. Work that
        already runs is left to finish: it is being paid for and its outputs are kept."""
        ...

    async def health(self) -> dict[str, object]: ...

    def set_waker(self, wake: Callable[[], None]) -> None:
        """Called when a task may have finished (in-process completion, a webhook), so
        the orchestrator settles it at once instead of at its next poll."""
        ...

    async def aclose(self) -> None: ...
