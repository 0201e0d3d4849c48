"""task remote state and timings (RunPod delayTime / executionTime)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 17:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("remote_state", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("delay_ms", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("execution_ms", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("worker", sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_column("worker")
        batch_op.drop_column("execution_ms")
        batch_op.drop_column("delay_ms")
        batch_op.drop_column("remote_state")
