"""Gemini Batch API route: durable batch records and the job's route

Revision ID: 0008
Revises: 0004
Create Date: 2026-12-03 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("route", sa.String(length=16), nullable=False, server_default="standard")
        )
    op.create_table(
        "gemini_batches",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("display_name", sa.String(length=128), nullable=False),
        sa.Column("job_id", sa.String(length=32), nullable=False),
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("remote_name", sa.String(length=128), nullable=True),
        sa.Column("result_file", sa.String(length=128), nullable=True),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("download_attempts", sa.Integer(), nullable=False),
        sa.Column("next_check_at", sa.DateTime(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("display_name"),
    )
    with op.batch_alter_table("gemini_batches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gemini_batches_job_id"), ["job_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_gemini_batches_state"), ["state"], unique=False)
    op.create_table(
        "gemini_batch_lines",
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("batch_id", sa.String(length=32), nullable=False),
        sa.Column("output_id", sa.String(length=32), nullable=False),
        sa.Column("task_id", sa.String(length=32), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["batch_id"], ["gemini_batches.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("gemini_batch_lines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_gemini_batch_lines_batch_id"), ["batch_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_gemini_batch_lines_output_id"), ["output_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_gemini_batch_lines_task_id"), ["task_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("gemini_batch_lines")
    op.drop_table("gemini_batches")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("route")
