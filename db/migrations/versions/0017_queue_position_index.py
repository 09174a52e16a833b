"""queue position: a partial index of the queued cases, in the order agents take them

The flow tells a queued client their place in the queue on every hand-off and every
"masih lama?". Counting the cases ahead read every case with state 'queued' through the
state index and then each wide row; this index holds only the queued cases, by desk and
queue time, so the count reads the entries ahead and nothing else.

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_case_queue",
        "case",
        ["profile", "queued_at", "id"],
        sqlite_where=sa.text("state = 'queued'"),
        postgresql_where=sa.text("state = 'queued'"),
    )


def downgrade() -> None:
    op.drop_index("ix_case_queue", table_name="case")
