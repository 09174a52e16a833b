"""supervision: find reopened (and other kinds of) case events without scanning the log

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_caseevent_kind_case", "caseevent", ["kind", "case_id"])


def downgrade() -> None:
    op.drop_index("ix_caseevent_kind_case", table_name="caseevent")
