"""inbox: the waiting messages in accepted order, for the steppers' claim

A stepper claims the chats of the oldest waiting messages. Grouping every waiting message
by chat to find them read the whole backlog on each claim, and a stepper on SQLite claims
every few milliseconds (its write transaction stops after 5 ms, so webhooks get the lock):
with thousands waiting, the claim cost more than the steps. This index holds only the
waiting messages, by id, so a claim reads the first few hundred entries.

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_inbox_pending_order",
        "inboxmessage",
        ["id", "chat_key"],
        sqlite_where=sa.text("stepped_at IS NULL"),
        postgresql_where=sa.text("stepped_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_inbox_pending_order", table_name="inboxmessage")
