"""labelled datasets: label files, splits and labels per item; labels, transform,
quality, review and flags per output

Revision ID: 0004
Revises: 0007
Create Date: 2026-12-10 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dataset_files",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("dataset_id", sa.String(length=32), nullable=False),
        sa.Column("rel_path", sa.String(length=1024), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("storage_key", sa.String(length=512), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["dataset_id"], ["datasets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dataset_id", "rel_path", name="uq_dataset_file_path"),
    )
    with op.batch_alter_table("dataset_files", schema=None) as batch_op:
        batch_op.create_index("ix_dataset_files_dataset_id", ["dataset_id"], unique=False)

    op.create_table(
        "output_flags",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("job_id", sa.String(length=32), nullable=False),
        sa.Column("output_id", sa.String(length=32), nullable=False),
        sa.Column("flag", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("other_output_id", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["output_id"], ["outputs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("output_flags", schema=None) as batch_op:
        batch_op.create_index("ix_output_flags_job_flag", ["job_id", "flag"], unique=False)
        batch_op.create_index("ix_output_flags_output_id", ["output_id"], unique=False)

    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("label_summary", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("labels_stale", sa.Boolean(), server_default="1", nullable=False)
        )

    with op.batch_alter_table("dataset_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("split", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("labels", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("label_problem", sa.Boolean(), server_default="0", nullable=False)
        )

    with op.batch_alter_table("outputs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("labels", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("transform", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("quality", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("review", sa.String(length=16), server_default="unreviewed", nullable=False)
        )
        batch_op.add_column(sa.Column("reviewed_at", sa.DateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("regenerations", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.create_index("ix_outputs_job_review", ["job_id", "review"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outputs", schema=None) as batch_op:
        batch_op.drop_index("ix_outputs_job_review")
        batch_op.drop_column("regenerations")
        batch_op.drop_column("reviewed_at")
        batch_op.drop_column("review")
        batch_op.drop_column("quality")
        batch_op.drop_column("transform")
        batch_op.drop_column("labels")

    with op.batch_alter_table("dataset_items", schema=None) as batch_op:
        batch_op.drop_column("label_problem")
        batch_op.drop_column("labels")
        batch_op.drop_column("split")

    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.drop_column("labels_stale")
        batch_op.drop_column("label_summary")

    with op.batch_alter_table("output_flags", schema=None) as batch_op:
        batch_op.drop_index("ix_output_flags_output_id")
        batch_op.drop_index("ix_output_flags_job_flag")
    op.drop_table("output_flags")

    with op.batch_alter_table("dataset_files", schema=None) as batch_op:
        batch_op.drop_index("ix_dataset_files_dataset_id")
    op.drop_table("dataset_files")
