"""phrase versions, profile setting versions, override revision counter

Revision ID: 0004
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "phraseversion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("is_reset", sa.Boolean(), nullable=False),
        sa.Column("reverted_from", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("phraseversion", schema=None) as batch_op:
        batch_op.create_index("ix_phraseversion_key_locale", ["key", "locale", "id"])
    op.create_table(
        "profileversion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("profile", sa.String(length=32), nullable=False),
        sa.Column("settings_json", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("is_reset", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("profileversion", schema=None) as batch_op:
        batch_op.create_index("ix_profileversion_profile", ["profile", "id"])
    revision_table = op.create_table(
        "overriderevision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.bulk_insert(revision_table, [{"id": 1, "value": 0}])


def downgrade() -> None:
    op.drop_table("overriderevision")
    with op.batch_alter_table("profileversion", schema=None) as batch_op:
        batch_op.drop_index("ix_profileversion_profile")
    op.drop_table("profileversion")
    with op.batch_alter_table("phraseversion", schema=None) as batch_op:
        batch_op.drop_index("ix_phraseversion_key_locale")
    op.drop_table("phraseversion")
