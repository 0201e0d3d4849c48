"""The statuses of jobs, tasks and outputs, and an output's review state.

Stored as plain strings backed by these StrEnums, so migrations stay simple and
SQLite-friendly.
"""

from __future__ import annotations

from enum import StrEnum


class JobStatus(StrEnum):
    queued = "queued"
    running = "running"
    paused = "paused"
    completed = "completed"
    completed_with_errors = "completed_with_errors"
    failed = "failed"
    cancelled = "cancelled"


TERMINAL_JOB_STATUSES = frozenset(
    {JobStatus.completed, JobStatus.completed_with_errors, JobStatus.failed, JobStatus.cancelled}
)


class TaskStatus(StrEnum):
    queued = "queued"  # waiting (maybe until not_before) for a free executor slot
    dispatched = "dispatched"  # handed to the executor; `handle` is set before submit returns
    done = "done"  # every slot of this task reached a final state
    cancelled = "cancelled"


class OutputStatus(StrEnum):
    pending = "pending"
    succeeded = "succeeded"
    blocked = "blocked"
    failed = "failed"
    cancelled = "cancelled"


FINAL_OUTPUT_STATUSES = frozenset(
    {OutputStatus.succeeded, OutputStatus.blocked, OutputStatus.failed, OutputStatus.cancelled}
)


class ReviewState(StrEnum):
    unreviewed = "unreviewed"
    accepted = "accepted"
    rejected = "rejected"
