"""output change sequence: which outputs changed since a poller's last look

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-11 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outputs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("change_seq", sa.Integer(), nullable=False, server_default="0")
        )
    op.create_index("ix_outputs_job_change", "outputs", ["job_id", "change_seq"])


def downgrade() -> None:
    op.drop_index("ix_outputs_job_change", table_name="outputs")
    with op.batch_alter_table("outputs", schema=None) as batch_op:
        batch_op.drop_column("change_seq")
