"""A job and what it is made of: Job -> Batch -> Task -> Output (+ quality flags).

`Job.revision` is bumped on every change that a poller cares about; the API turns
it into an ETag so polling is cheap. `Output.change_seq` is renumbered by every
UPDATE of an output (whatever code path issues it), so a running job's gallery asks
only for the outputs that changed since its last poll.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    literal_column,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnClause

from bananabatch.db.models.base import Base, new_id, utcnow
from bananabatch.db.models.statuses import JobStatus, OutputStatus, ReviewState, TaskStatus


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_status_priority", "status", "priority"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    mode: Mapped[str] = mapped_column(String(16))  # contracts.Mode
    name: Mapped[str] = mapped_column(String(255), default="")
    provider: Mapped[str] = mapped_column(String(16))
    model: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(32), default=JobStatus.queued)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    seed: Mapped[int] = mapped_column(Integer, default=0)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the request as given
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # GenerationOptions
    dataset_id: Mapped[str | None] = mapped_column(ForeignKey("datasets.id"), default=None)
    reference_asset_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    include_originals: Mapped[bool] = mapped_column(default=False)
    total_outputs: Mapped[int] = mapped_column(Integer, default=0)
    total_tasks: Mapped[int] = mapped_column(Integer, default=0)
    cost_estimate: Mapped[float] = mapped_column(Float, default=0.0)
    cost_actual: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    # Budget: the most this job may spend (None = no cap), and why it is held (paused)
    # when the orchestrator stopped it at a cap rather than the user.
    max_cost: Mapped[float | None] = mapped_column(Float, default=None)
    hold_reason: Mapped[str | None] = mapped_column(Text, default=None)
    route: Mapped[str] = mapped_column(String(16), default="standard")  # standard | batch
    # Set when a CLI run of the job was interrupted (Ctrl-C, SIGTERM): the job is paused,
    # so `jobs list` and the web UI do not claim it runs; resuming clears it.
    interrupted_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    # POSTed (signed) when the job ends or is held at a budget cap (notify/)
    webhook_url: Mapped[str | None] = mapped_column(String(2048), default=None)
    # A trial run: only `trial_size` sampled slots of the whole plan exist until the user
    # runs the rest (`trial_continued_at`); the whole job's outputs and estimate are kept
    # so the rest can be priced without planning again.
    trial_size: Mapped[int | None] = mapped_column(Integer, default=None)
    planned_outputs: Mapped[int | None] = mapped_column(Integer, default=None)
    planned_cost: Mapped[float | None] = mapped_column(Float, default=None)
    trial_continued_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)

    batches: Mapped[list[Batch]] = relationship(
        back_populates="job", cascade="all, delete-orphan", order_by="Batch.position"
    )


class Batch(Base):
    """What the user sees as a group: a prompt (semi-auto) or a top-level folder (automatic)."""

    __tablename__ = "batches"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(255))
    slug: Mapped[str] = mapped_column(String(255))
    prompt: Mapped[str] = mapped_column(Text, default="")
    count: Mapped[int] = mapped_column(Integer, default=0)

    job: Mapped[Job] = relationship(back_populates="batches")


class Task(Base):
    """One unit sent to an executor: at most `outputs_per_task` outputs."""

    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_status_not_before", "status", "not_before"),
        Index("ix_tasks_job_status", "job_id", "status", "not_before"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # run index within the batch (0-based)
    source_asset_id: Mapped[str | None] = mapped_column(ForeignKey("assets.id"), default=None)
    source_path: Mapped[str | None] = mapped_column(String(1024), default=None)
    status: Mapped[str] = mapped_column(String(16), default=TaskStatus.queued)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    executor: Mapped[str | None] = mapped_column(String(32), default=None)
    handle: Mapped[str | None] = mapped_column(String(128), default=None)
    not_before: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    dispatched_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    # What the executor last said while the task was out (queued / running), and how
    # long it waited and ran there (RunPod's delayTime / executionTime).
    remote_state: Mapped[str | None] = mapped_column(String(16), default=None)
    delay_ms: Mapped[int | None] = mapped_column(Integer, default=None)
    execution_ms: Mapped[int | None] = mapped_column(Integer, default=None)
    worker: Mapped[str | None] = mapped_column(String(128), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


NEXT_CHANGE_SEQ: ColumnClause[int] = literal_column(
    "(SELECT coalesce(max(o2.change_seq), 0) + 1 FROM outputs AS o2"
    " WHERE o2.job_id = outputs.job_id)"
)
"""The next change number of an output's job, evaluated by the UPDATE itself (one
index lookup on `ix_outputs_job_change`)."""


class Output(Base):
    """One image slot with its full lineage."""

    __tablename__ = "outputs"
    __table_args__ = (
        Index("ix_outputs_job_status", "job_id", "status"),
        Index("ix_outputs_job_position", "job_id", "position"),
        Index("ix_outputs_job_review", "job_id", "review"),
        Index("ix_outputs_job_change", "job_id", "change_seq"),
        Index("ix_outputs_batch_source", "batch_id", "source_asset_id"),
        UniqueConstraint("job_id", "archive_path", name="uq_output_archive_path"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # order within the job
    run_index: Mapped[int] = mapped_column(Integer, default=0)  # task position within the batch
    variation: Mapped[int] = mapped_column(Integer, default=1)  # 1-based
    source_asset_id: Mapped[str | None] = mapped_column(ForeignKey("assets.id"), default=None)
    source_path: Mapped[str | None] = mapped_column(String(1024), default=None)
    archive_path: Mapped[str] = mapped_column(String(1024))  # where it goes in the ZIP
    prompt: Mapped[str] = mapped_column(Text)
    model: Mapped[str] = mapped_column(String(128))
    seed: Mapped[int] = mapped_column(Integer)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    # Text-only answers so far: the retry policy allows one retry per output, and the
    # last error kind alone forgets them once a 429 comes in between.
    no_image_answers: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    status: Mapped[str] = mapped_column(String(16), default=OutputStatus.pending)
    error_kind: Mapped[str | None] = mapped_column(String(32), default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost: Mapped[float] = mapped_column(Float, default=0.0)
    storage_key: Mapped[str | None] = mapped_column(String(1024), default=None)
    mime_type: Mapped[str | None] = mapped_column(String(64), default=None)
    width: Mapped[int | None] = mapped_column(Integer, default=None)
    height: Mapped[int | None] = mapped_column(Integer, default=None)
    duration_ms: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    # Labelled datasets and checks: the source's labels in this image's frame, how
    # the image relates to its source, and the measurements flags are decided from.
    labels: Mapped[list[Any] | None] = mapped_column(JSON, default=None)
    transform: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    quality: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    review: Mapped[str] = mapped_column(
        String(16), default=ReviewState.unreviewed, server_default=ReviewState.unreviewed.value
    )
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    regenerations: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Set by the database inside each UPDATE (after the job's last number), so the
    # numbers follow commit order: SQLite runs one writer at a time.
    change_seq: Mapped[int] = mapped_column(
        Integer, default=0, server_default="0", onupdate=NEXT_CHANGE_SEQ
    )


class OutputFlag(Base):
    """A quality flag on an output (near-identical, near-duplicate, wrong size, layout
    moved) with the reason shown to the user; `other_output_id` names the sibling of
    a near-duplicate pair."""

    __tablename__ = "output_flags"
    __table_args__ = (Index("ix_output_flags_job_flag", "job_id", "flag"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    output_id: Mapped[str] = mapped_column(ForeignKey("outputs.id", ondelete="CASCADE"), index=True)
    flag: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="")
    other_output_id: Mapped[str | None] = mapped_column(String(32), default=None, index=True)
