"""an index for claiming at scale: a job's ready tasks

Each claim round counted every queued task of every runnable job (19 ms a round
for a 100,000-output job) to share its room among the jobs; it now counts at most
the room's worth of each job's ready tasks, which this index answers directly.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 12:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_tasks_job_status", "tasks", ["job_id", "status", "not_before"])


def downgrade() -> None:
    op.drop_index("ix_tasks_job_status", table_name="tasks")
