"""A planned job's batches, tasks and outputs as database rows, inserted in chunks with
`executemany`: a 100,000-output job never holds 100,000 rows (or ORM objects) at once.

Rows are plain tuples in a fixed column order. On SQLite they go straight to the
driver (`exec_driver_sql`: no statement compilation or parameter processing per row,
which cost as much as the database's own work); elsewhere through Core `insert()`.
Either way every column the ORM would fill from a Python default is filled the same.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterator, Mapping
from enum import Enum
from typing import Any

from sqlalchemy import Connection, Table, insert
from sqlalchemy.orm import Session

from bananabatch.db.models import Batch, Output, Task, utcnow
from bananabatch.domain.plan import (
    Plan,
)

CHUNK = 5_000  # output rows per INSERT statement

BATCH_COLUMNS = ("id", "job_id", "position", "name", "slug", "prompt", "count")
TASK_COLUMNS = ("id", "job_id", "batch_id", "position", "source_asset_id", "source_path")
OUTPUT_COLUMNS = (
    "id",
    "job_id",
    "batch_id",
    "task_id",
    "position",
    "run_index",
    "variation",
    "source_asset_id",
    "source_path",
    "archive_path",
    "prompt",
    "model",
    "seed",
)


class _Ids:
    """Row ids for one insert: 32 hex digits like `new_id`, but increasing (milliseconds
    since the epoch, 48 random bits, then a counter). Each index on an id (the primary
    keys, `outputs.task_id`) then grows at its end instead of at a random page: SQLite
    inserts such rows about a third cheaper. Ids grant nothing (signed URLs do), so
    they need not be unguessable."""

    def __init__(self) -> None:
        self._prefix = f"{time.time_ns() // 1_000_000:012x}{os.urandom(6).hex()}"
        self._count = itertools.count()

    def __call__(self) -> str:
        return f"{self._prefix}{next(self._count):08x}"


class _Layout:
    """One table's INSERT: the planned columns, then every other column with a scalar
    Python default (as the ORM would set it) and `created_at` when the table has it."""

    def __init__(self, table: Table, planned: tuple[str, ...], conn: Connection) -> None:
        self.table = table
        extra: dict[str, Any] = {}
        for column in table.columns:
            default = column.default
            if column.name in planned or default is None:
                continue
            if getattr(default, "is_scalar", False) and default.arg is not None:  # type: ignore[attr-defined]
                value = default.arg  # type: ignore[attr-defined]
                extra[column.name] = value.value if isinstance(value, Enum) else value
        self.driver = conn.dialect.name == "sqlite"
        if "created_at" in table.columns:
            now = utcnow()
            # the dialect's own processor, as the ORM applies it: the text is the ORM's,
            # written once, not a datetime the driver adapts per row
            column_type = table.c.created_at.type.dialect_impl(conn.dialect)
            processor = column_type.bind_processor(conn.dialect)
            extra["created_at"] = processor(now) if self.driver and processor else now
        self.columns = planned + tuple(extra)
        self.tail = tuple(extra.values())
        marks = ", ".join("?" for _ in self.columns)
        self.sql = f"INSERT INTO {table.name} ({', '.join(self.columns)}) VALUES ({marks})"

    def insert(self, conn: Connection, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if self.driver:
            conn.exec_driver_sql(self.sql, [row + self.tail for row in rows])
        else:
            conn.execute(
                insert(self.table),
                [dict(zip(self.columns, r + self.tail, strict=True)) for r in rows],
            )


def plan_rows(
    job_id: str, plan: Plan, model_id: str, batch_ids: Mapping[int, str] | None = None
) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """("batch" | "task" | "output", planned columns) in plan order, parents first.
    A batch whose position is in `batch_ids` exists already and gets no new row."""
    _id = _Ids()
    for pb in plan.batches:
        batch_id = (batch_ids or {}).get(pb.position)
        if batch_id is None:
            batch_id = _id()
            yield "batch", (batch_id, job_id, pb.position, pb.name, pb.slug, pb.prompt, pb.count)
        for pt in pb.tasks:
            task_id = _id()
            yield (
                "task",
                (task_id, job_id, batch_id, pt.position, pt.source_asset_id, pt.source_path),
            )
            for po in pt.outputs:
                yield (
                    "output",
                    (
                        _id(),
                        job_id,
                        batch_id,
                        task_id,
                        po.position,
                        pt.position,
                        po.variation,
                        po.source_asset_id,
                        po.source_path,
                        po.archive_path,
                        po.prompt,
                        model_id,
                        po.seed,
                    ),
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
    layouts = {
        "batch": _Layout(Batch.__table__, BATCH_COLUMNS, conn),  # type: ignore[arg-type]
        "task": _Layout(Task.__table__, TASK_COLUMNS, conn),  # type: ignore[arg-type]
        "output": _Layout(Output.__table__, OUTPUT_COLUMNS, conn),  # type: ignore[arg-type]
    }
    pending: dict[str, list[tuple[Any, ...]]] = {kind: [] for kind in layouts}

    def flush() -> None:
        for kind in ("batch", "task", "output"):  # parents first
            layouts[kind].insert(conn, pending[kind])
            pending[kind] = []

    for kind, row in plan_rows(job_id, plan, model_id, batch_ids):
        pending[kind].append(row)
        if kind == "output" and len(pending["output"]) >= CHUNK:
            flush()
    flush()
