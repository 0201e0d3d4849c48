"""indexes for settling at scale: an output's siblings and the flags naming it

Settling an output finds its siblings (the other variations of its source in its
batch) and forgets the near-duplicate flags naming it. Without these indexes both
read every output of the batch or every flag of the database, once per output:
quadratic in the size of a job.

Revision ID: 0015
Revises: 0012
Create Date: 2026-12-03 10:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_outputs_batch_source", "outputs", ["batch_id", "source_asset_id"])
    op.create_index("ix_output_flags_other_output_id", "output_flags", ["other_output_id"])


def downgrade() -> None:
    op.drop_index("ix_output_flags_other_output_id", table_name="output_flags")
    op.drop_index("ix_outputs_batch_source", table_name="outputs")
