"""console counts: an index covering the tab counts (docs/decisions/0011-console-live-feed.md)

The console's tabs count waiting, mine, all open and the backlog on every list refresh and
row patch. Without this index each count read the whole case table (wide rows: fields and
context JSON); with it the database reads the open cases' entries of a narrow index
(closed_at first: `closed_at IS NULL` is a range of it, and the index covers the counts).

Revision ID: 0016
Revises: 0015
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_case_open_lists",
        "case",
        ["closed_at", "state", "assignee_id", "resolved_at", "handed_off_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_case_open_lists", table_name="case")
