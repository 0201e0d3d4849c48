"""The spend ledger: one row per billed provider call."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bananabatch.db.models.base import Base, utcnow


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
