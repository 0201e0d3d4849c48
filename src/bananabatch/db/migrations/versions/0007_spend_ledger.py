"""spend ledger and budget caps

Revision ID: 0007
Revises: 0003h
Create Date: 2026-12-02 18:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0003h"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "spend_entries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("job_id", sa.String(length=32), nullable=False),
        sa.Column("output_id", sa.String(length=32), nullable=True),
        sa.Column("task_id", sa.String(length=32), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("route", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("cost", sa.Float(), nullable=False),
        sa.Column("priced_by", sa.String(length=16), nullable=False),
        sa.Column("paid_twice", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("spend_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_spend_entries_job_id"), ["job_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_spend_entries_output_id"), ["output_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_spend_entries_created_at"), ["created_at"], unique=False
        )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("max_cost", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("hold_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("hold_reason")
        batch_op.drop_column("max_cost")
    with op.batch_alter_table("spend_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_spend_entries_created_at"))
        batch_op.drop_index(batch_op.f("ix_spend_entries_output_id"))
        batch_op.drop_index(batch_op.f("ix_spend_entries_job_id"))
    op.drop_table("spend_entries")
