"""Gemini Batch API jobs and their lines, recorded so a crash never pays twice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bananabatch.db.models.base import Base, new_id, utcnow


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
