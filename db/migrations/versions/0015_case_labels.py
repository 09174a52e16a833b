"""case labels and the Enter-sends preference of the agent console

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "caselabel",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=32), nullable=False),
        sa.Column("added_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"]),
        sa.PrimaryKeyConstraint("case_id", "label"),
    )
    op.create_index(op.f("ix_caselabel_label"), "caselabel", ["label"], unique=False)
    with op.batch_alter_table("agentsetting") as batch:
        batch.add_column(
            sa.Column("enter_sends", sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade() -> None:
    with op.batch_alter_table("agentsetting") as batch:
        batch.drop_column("enter_sends")
    op.drop_index(op.f("ix_caselabel_label"), table_name="caselabel")
    op.drop_table("caselabel")
