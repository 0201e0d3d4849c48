"""A planned job's batches, tasks and outputs as database rows, inserted with Core
`executemany` statements in chunks: a 100,000-output job never holds 100,000 row
dicts (or ORM objects) at once, and skips the ORM's per-row bookkeeping."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from bananabatch.db.models import Batch, Output, OutputStatus, Task, TaskStatus, utcnow
from bananabatch.domain.planning import Plan

CHUNK = 5_000  # output rows per INSERT statement


def _id() -> str:
    """Like `new_id` (32 hex digits, random) without building a UUID object per row."""
    return os.urandom(16).hex()


def _rows(
    job_id: str, plan: Plan, model_id: str, batch_ids: Mapping[int, str]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """("batch" | "task" | "output", row) in plan order, each parent before its children.
    A batch whose position is in `batch_ids` exists already and gets no new row."""
    now = utcnow()
    for pb in plan.batches:
        batch_id = batch_ids.get(pb.position)
        if batch_id is None:
            batch_id = _id()
            yield (
                "batch",
                {
                    "id": batch_id,
                    "job_id": job_id,
                    "position": pb.position,
                    "name": pb.name,
                    "slug": pb.slug,
                    "prompt": pb.prompt,
                    "count": pb.count,
                },
            )
        for pt in pb.tasks:
            task_id = _id()
            yield (
                "task",
                {
                    "id": task_id,
                    "job_id": job_id,
                    "batch_id": batch_id,
                    "position": pt.position,
                    "source_asset_id": pt.source_asset_id,
                    "source_path": pt.source_path,
                    "status": TaskStatus.queued,
                    "attempts": 0,
                    "created_at": now,
                },
            )
            for po in pt.outputs:
                yield (
                    "output",
                    {
                        "id": _id(),
                        "job_id": job_id,
                        "batch_id": batch_id,
                        "task_id": task_id,
                        "position": po.position,
                        "run_index": pt.position,
                        "variation": po.variation,
                        "source_asset_id": po.source_asset_id,
                        "source_path": po.source_path,
                        "archive_path": po.archive_path,
                        "prompt": po.prompt,
                        "model": model_id,
                        "seed": po.seed,
                        "attempt": 0,
                        "status": OutputStatus.pending,
                        "created_at": now,
                    },
                )


def insert_plan_rows(
    session: Session,
    job_id: str,
    plan: Plan,
    model_id: str,
    batch_ids: Mapping[int, str] | None = None,
) -> None:
    """Insert `plan` under the (already added) job `job_id`; the caller commits.

    `batch_ids` (position -> id) names batches that exist already (running the rest of
    a trial): their new tasks and outputs go under them."""
    session.flush()
    conn = session.connection()
    # on the Connection (not the Session) these run as Core: no ORM per-row bookkeeping
    tables: dict[str, type[Batch] | type[Task] | type[Output]] = {
        "batch": Batch,
        "task": Task,
        "output": Output,
    }
    pending: dict[str, list[dict[str, Any]]] = {kind: [] for kind in tables}

    def flush(kinds: tuple[str, ...]) -> None:
        for kind in kinds:  # parents first: a row never waits for its parent's INSERT
            if pending[kind]:
                conn.execute(insert(tables[kind]), pending[kind])
                pending[kind] = []

    for kind, row in _rows(job_id, plan, model_id, batch_ids or {}):
        pending[kind].append(row)
        if kind == "output" and len(pending["output"]) >= CHUNK:
            flush(("batch", "task", "output"))
    flush(("batch", "task", "output"))
