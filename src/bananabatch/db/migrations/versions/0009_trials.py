"""trials: a job may be a trial run of a sample of its slots, continued later

Revision ID: 0009
Revises: 0013
Create Date: 2026-12-11 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("trial_size", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("planned_outputs", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("planned_cost", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("trial_continued_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("trial_continued_at")
        batch_op.drop_column("planned_cost")
        batch_op.drop_column("planned_outputs")
        batch_op.drop_column("trial_size")
