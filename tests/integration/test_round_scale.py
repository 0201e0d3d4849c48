"""What a round reads stays small on a big job. The job refresh
(`orchestrator/job_state.py`) reads one indexed row while anything is pending, not a
count of the whole job, and the final status still comes from every output; a claim
counts at most the room's worth of each job's ready tasks, not all of them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, or_, select, update

from bananabatch.config import Settings
from bananabatch.db.models import Job, JobStatus, Output, OutputStatus, Task, TaskStatus, utcnow
from bananabatch.orchestrator.claim import runnable_jobs
from bananabatch.orchestrator.job_state import refresh_job
from bananabatch.runtime import Runtime, build_runtime
from tests.integration.test_hardening_engine import _job as semi_auto_job


@pytest.fixture
def rt(settings: Settings) -> Iterator[Runtime]:
    runtime = build_runtime(settings)
    yield runtime
    asyncio.run(runtime.stop())


def _job(rt: Runtime, count: int) -> str:
    return semi_auto_job(rt, count).id


def _refresh(rt: Runtime, job_id: str) -> tuple[Job, list[str]]:
    """Refresh the job; the SQL it ran."""
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(" ".join(statement.split()))

    event.listen(rt.engine, "before_cursor_execute", seen)
    try:
        with rt.session_factory() as s:
            job = s.get_one(Job, job_id)
            statements.clear()
            refresh_job(s, job)
            s.commit()
            s.refresh(job)
            s.expunge(job)
    finally:
        event.remove(rt.engine, "before_cursor_execute", seen)
    return job, statements


def _set(rt: Runtime, job_id: str, status: OutputStatus, first: int | None = None) -> None:
    with rt.session_factory() as s:
        ids = list(
            s.scalars(select(Output.id).where(Output.job_id == job_id).order_by(Output.position))
        )
        chosen = ids[:first] if first is not None else ids
        s.execute(update(Output).where(Output.id.in_(chosen)).values(status=status))
        s.commit()


def test_a_job_with_pending_outputs_is_not_counted_whole(rt: Runtime) -> None:
    job_id = _job(rt, 8)
    _set(rt, job_id, OutputStatus.succeeded, first=7)

    job, statements = _refresh(rt, job_id)

    assert job.status == JobStatus.queued and job.revision >= 1
    assert not [q for q in statements if "GROUP BY" in q.upper()], statements
    assert any("LIMIT" in q.upper() for q in statements if "FROM outputs" in q)


@pytest.mark.parametrize(
    ("last", "expected"),
    [
        (OutputStatus.succeeded, JobStatus.completed),
        (OutputStatus.failed, JobStatus.completed_with_errors),
    ],
)
def test_the_last_output_settles_the_job_from_every_output(
    rt: Runtime, last: OutputStatus, expected: JobStatus
) -> None:
    job_id = _job(rt, 4)
    _set(rt, job_id, OutputStatus.succeeded, first=3)
    _set_last(rt, job_id, last)

    job, _ = _refresh(rt, job_id)

    assert job.status == expected and job.finished_at is not None


def test_a_job_whose_every_output_failed_has_failed(rt: Runtime) -> None:
    job_id = _job(rt, 4)
    _set(rt, job_id, OutputStatus.failed)

    job, _ = _refresh(rt, job_id)

    assert job.status == JobStatus.failed and job.error


def _set_last(rt: Runtime, job_id: str, status: OutputStatus) -> None:
    with rt.session_factory() as s:
        last = s.scalars(
            select(Output.id).where(Output.job_id == job_id).order_by(Output.position.desc())
        ).first()
        s.execute(update(Output).where(Output.id == last).values(status=status))
        s.commit()


def test_a_claim_counts_each_jobs_ready_tasks_up_to_its_room(rt: Runtime) -> None:
    small, big, later, paused = (_job(rt, 4 * n) for n in (3, 40, 5, 6))
    with rt.session_factory() as s:
        s.execute(  # `later`: every task waits for a retry time in the future
            update(Task)
            .where(Task.job_id == later)
            .values(not_before=utcnow() + timedelta(hours=1))
        )
        s.execute(update(Job).where(Job.id == paused).values(status=JobStatus.paused))
        one = s.scalars(select(Task.id).where(Task.job_id == small)).first()
        s.execute(update(Task).where(Task.id == one).values(status=TaskStatus.dispatched))
        s.commit()
        now = utcnow()
        ready = (
            Task.status == TaskStatus.queued,
            or_(Task.not_before.is_(None), Task.not_before <= now),
        )
        found = {job: n for job, _, n in runnable_jobs(s, ready, room=16)}
        assert runnable_jobs(s, ready, room=0) == []

    assert found == {small: 2, big: 16}
