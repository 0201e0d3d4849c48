"""spend ledger outlives deleted jobs: spend_entries.job_id nullable, ON DELETE SET NULL

Deleting a job must not erase what was paid for it (the daily budget counts the
ledger), so its entries stay with no job.

Revision ID: 0010
Revises: 0014
Create Date: 2026-12-11 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite reflects the unnamed foreign key; this convention names it so it can be dropped.
NAMING = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}
FK_NAME = "fk_spend_entries_job_id_jobs"


def _old_fk_name() -> str:
    return FK_NAME if op.get_bind().dialect.name == "sqlite" else "spend_entries_job_id_fkey"


def upgrade() -> None:
    with op.batch_alter_table("spend_entries", naming_convention=NAMING) as batch_op:
        batch_op.drop_constraint(_old_fk_name(), type_="foreignkey")
        batch_op.alter_column("job_id", existing_type=sa.String(length=32), nullable=True)
        batch_op.create_foreign_key(FK_NAME, "jobs", ["job_id"], ["id"], ondelete="SET NULL")


def downgrade() -> None:
    op.execute("DELETE FROM spend_entries WHERE job_id IS NULL")
    with op.batch_alter_table("spend_entries", naming_convention=NAMING) as batch_op:
        batch_op.drop_constraint(FK_NAME, type_="foreignkey")
        batch_op.alter_column("job_id", existing_type=sa.String(length=32), nullable=False)
        batch_op.create_foreign_key(FK_NAME, "jobs", ["job_id"], ["id"], ondelete="CASCADE")
