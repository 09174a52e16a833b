"""web chat origin: which client address started each web chat, to cap open cases per address

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webchatorigin",
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("chat_id"),
    )
    op.create_index("ix_webchatorigin_address", "webchatorigin", ["address"])


def downgrade() -> None:
    op.drop_index("ix_webchatorigin_address", table_name="webchatorigin")
    op.drop_table("webchatorigin")
