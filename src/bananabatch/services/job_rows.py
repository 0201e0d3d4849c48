"""A planned job's batches, tasks and outputs as database rows, inserted in three bulk
statements: a 10,000-image job is three INSERTs, not 10,000 ORM objects."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from bananabatch.db.models import Batch, Output, OutputStatus, Task, TaskStatus, new_id, utcnow
from bananabatch.domain.planning import Plan


def insert_plan_rows(session: Session, job_id: str, plan: Plan, model_id: str) -> None:
    """Insert `plan` under the (already added) job `job_id`; the caller commits."""
    batch_rows: list[dict[str, Any]] = []
    task_rows: list[dict[str, Any]] = []
    output_rows: list[dict[str, Any]] = []
    for pb in plan.batches:
        batch_id = new_id()
        batch_rows.append(
            {
                "id": batch_id,
                "job_id": job_id,
                "position": pb.position,
                "name": pb.name,
                "slug": pb.slug,
                "prompt": pb.prompt,
                "count": pb.count,
            }
        )
        for pt in pb.tasks:
            task_id = new_id()
            task_rows.append(
                {
                    "id": task_id,
                    "job_id": job_id,
                    "batch_id": batch_id,
                    "position": pt.position,
                    "source_asset_id": pt.source_asset_id,
                    "source_path": pt.source_path,
                    "status": TaskStatus.queued,
                    "attempts": 0,
                    "created_at": utcnow(),
                }
            )
            for po in pt.outputs:
                output_rows.append(
                    {
                        "id": new_id(),
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
                        "created_at": utcnow(),
                    }
                )
    session.flush()
    session.execute(insert(Batch), batch_rows)
    session.execute(insert(Task), task_rows)
    session.execute(insert(Output), output_rows)
