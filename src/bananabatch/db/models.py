"""SQLAlchemy 2 typed models: Job -> Batch -> Task -> Output (+ flags), plus Asset,
Dataset (+ items and label files), the login sessions and the spend ledger.

Statuses are plain strings backed by the StrEnums below so migrations stay simple
and SQLite-friendly. `Job.revision` is bumped on every change that a poller cares
about; the API turns it into an ETag so polling is cheap. `Output.change_seq` is
renumbered by every UPDATE of an output (whatever code path issues it), so a
running job's gallery asks only for the outputs that changed since its last poll.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
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
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnClause


def new_id() -> str:
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


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


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Asset(Base):
    """An uploaded image, content-addressed by sha256 so re-uploads store nothing new."""

    __tablename__ = "assets"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex
    mime_type: Mapped[str] = mapped_column(String(64))
    format: Mapped[str] = mapped_column(String(16))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(Integer)
    storage_key: Mapped[str] = mapped_column(String(512))
    thumb_key: Mapped[str | None] = mapped_column(String(512), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Dataset(Base):
    __tablename__ = "datasets"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # What `datasets.analyse` found (format, classes, splits, problems); read again
    # lazily after an upload changed the dataset (`labels_stale`).
    label_summary: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    labels_stale: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    # Files an upload refused ({rel_path, code, message}), until an upload accepts the
    # path; job exports list them so a dataset's gaps are explained.
    refused_files: Mapped[list[dict[str, str]] | None] = mapped_column(JSON, default=None)

    items: Mapped[list[DatasetItem]] = relationship(
        back_populates="dataset", cascade="all, delete-orphan", order_by="DatasetItem.rel_path"
    )


class DatasetItem(Base):
    """One asset at a relative path inside a dataset (`cat/001.jpg`)."""

    __tablename__ = "dataset_items"
    __table_args__ = (UniqueConstraint("dataset_id", "rel_path", name="uq_dataset_item_path"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dataset_id: Mapped[str] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), index=True
    )
    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.id"))
    rel_path: Mapped[str] = mapped_column(String(1024))
    folder: Mapped[str] = mapped_column(String(255), default="")  # top-level folder ("" = flat)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    split: Mapped[str | None] = mapped_column(String(64), default=None)
    # Objects in pixels (`datasets.model.LabelObject` JSON); None: no label file.
    labels: Mapped[list[Any] | None] = mapped_column(JSON, default=None)
    label_problem: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")

    dataset: Mapped[Dataset] = relationship(back_populates="items")
    asset: Mapped[Asset] = relationship()


class DatasetFile(Base):
    """A non-image file of a dataset upload (label files, data.yaml, COCO JSON), kept
    byte for byte so an export can write it back untouched."""

    __tablename__ = "dataset_files"
    __table_args__ = (UniqueConstraint("dataset_id", "rel_path", name="uq_dataset_file_path"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dataset_id: Mapped[str] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), index=True
    )
    rel_path: Mapped[str] = mapped_column(String(1024))
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    storage_key: Mapped[str] = mapped_column(String(512))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


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
    __table_args__ = (Index("ix_tasks_status_not_before", "status", "not_before"),)

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


class ReviewState(StrEnum):
    unreviewed = "unreviewed"
    accepted = "accepted"
    rejected = "rejected"


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


class AuthSession(Base):
    """A login session. The cookie names it, so deleting the row revokes the cookie
    (logout) before its signature expires. The id is the sha256 of the cookie's
    session token, so a copy of the database cannot be turned into cookies."""

    __tablename__ = "auth_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)


class SpendEntry(Base):
    """One billed provider call: the spend ledger. Written in the same transaction as
    the result it came with, so the ledger and the outputs never disagree."""

    __tablename__ = "spend_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # None once the job is deleted: what was paid stays in the ledger (and the daily budget)
    job_id: Mapped[str | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="SET NULL"), index=True
    )
    output_id: Mapped[str | None] = mapped_column(String(32), default=None, index=True)
    task_id: Mapped[str | None] = mapped_column(String(32), default=None)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    model: Mapped[str] = mapped_column(String(128))
    route: Mapped[str] = mapped_column(String(16), default="standard")  # standard | batch
    outcome: Mapped[str] = mapped_column(String(16))  # image | blocked | no_image
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost: Mapped[float] = mapped_column(Float, default=0.0)
    priced_by: Mapped[str] = mapped_column(String(16), default="tokens")  # tokens | image | none
    paid_twice: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)


class GeminiBatch(Base):
    """One Gemini Batch API job, recorded BEFORE it is created (creating a batch is not
    idempotent): after a crash its display name is looked up with `batches.list`
    instead of creating a second batch for the same work."""

    __tablename__ = "gemini_batches"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    display_name: Mapped[str] = mapped_column(String(128), unique=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    model: Mapped[str] = mapped_column(String(128))
    # creating | pending | running | succeeded | downloaded | expired | failed |
    # cancelled | lost (results unreachable after every retry)
    state: Mapped[str] = mapped_column(String(16), default="creating", index=True)
    remote_name: Mapped[str | None] = mapped_column(String(128), default=None)
    result_file: Mapped[str | None] = mapped_column(String(128), default=None)
    lines: Mapped[int] = mapped_column(Integer, default=0)
    download_attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_check_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)


class GeminiBatchLine(Base):
    """One output slot inside a batch (its JSONL `key`). A slot is sent again only when
    its batch ended without results (expired, failed, lost): never blindly."""

    __tablename__ = "gemini_batch_lines"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    batch_id: Mapped[str] = mapped_column(
        ForeignKey("gemini_batches.id", ondelete="CASCADE"), index=True
    )
    output_id: Mapped[str] = mapped_column(String(32), index=True)
    task_id: Mapped[str] = mapped_column(String(32), index=True)
    round: Mapped[int] = mapped_column(Integer, default=1)
    # its answer was read and the orchestrator stored what it reported (marked at the
    # executor's next poll or submit), or its output was regenerated with a new seed: a
    # retry of this slot needs a new line, never this one again
    done: Mapped[bool] = mapped_column(default=False)


class WebhookDelivery(Base):
    """The outbox: one webhook event for one job, written in the same transaction as
    the status change it reports, then POSTed (retried with backoff) until delivered or
    out of attempts. Its body is fixed when written, so every attempt sends the same bytes."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_state_next", "state", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(32))
    url: Mapped[str] = mapped_column(String(2048))
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending|delivered|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_status: Mapped[int | None] = mapped_column(Integer, default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
