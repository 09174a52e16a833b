"""the durable inbox: chats numbered by ingress, claimed by steppers

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chat",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel", "chat_id", name="uq_chat_channel_chat"),
    )
    op.create_table(
        "chatclaim",
        sa.Column("chat_key", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["chat_key"], ["chat.id"]),
        sa.PrimaryKeyConstraint("chat_key"),
    )
    op.create_table(
        "inboxmessage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_key", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stepped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["chat_key"], ["chat.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel", "external_id", name="uq_inbox_channel_external"),
    )
    op.create_index(
        "ix_inbox_pending",
        "inboxmessage",
        ["chat_key", "seq"],
        sqlite_where=sa.text("stepped_at IS NULL"),
        postgresql_where=sa.text("stepped_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_inbox_pending", table_name="inboxmessage")
    op.drop_table("inboxmessage")
    op.drop_table("chatclaim")
    op.drop_table("chat")
