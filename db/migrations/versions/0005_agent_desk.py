"""agent desk and supervision: users, sessions, case clocks, events, notes, escalations,
compensation, QA reviews

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "desk_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("last_seen_at", UTC, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "websession",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("expires_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["desk_user.id"]),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index("ix_websession_user_id", "websession", ["user_id"])
    op.create_table(
        "caseevent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_caseevent_at", "caseevent", ["at"])
    op.create_index("ix_caseevent_case", "caseevent", ["case_id", "id"])
    op.create_table(
        "casenote",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_casenote_case_id", "casenote", ["case_id"])
    op.create_table(
        "compensation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("product_fault", sa.Boolean(), nullable=False),
        sa.Column("loss", sa.Text(), nullable=False),
        sa.Column("compensation", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_compensation_case_id", "compensation", ["case_id"])
    op.create_table(
        "escalation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("area", sa.String(length=64), nullable=False),
        sa.Column("outlet", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("filed_by", sa.String(length=64), nullable=False),
        sa.Column("posted_to", sa.String(length=64), nullable=True),
        sa.Column("post_error", sa.Text(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_escalation_case_id", "escalation", ["case_id"])
    op.create_index("ix_escalation_status", "escalation", ["status"])
    op.create_table(
        "qareview",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("reviewer", sa.String(length=64), nullable=False),
        sa.Column("items_json", sa.Text(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["desk_user.id"]),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_id"),
    )
    op.create_index("ix_qareview_agent_id", "qareview", ["agent_id"])
    op.create_index("ix_qareview_created_at", "qareview", ["created_at"])
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("source", sa.String(length=16), nullable=False, server_default="chat")
        )
        batch_op.add_column(sa.Column("handed_off_at", UTC, nullable=True))
        batch_op.add_column(sa.Column("assignee_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("assigned_at", UTC, nullable=True))
        batch_op.add_column(sa.Column("first_response_at", UTC, nullable=True))
        batch_op.add_column(sa.Column("first_response_by", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("frt_missed_at", UTC, nullable=True))
        batch_op.add_column(sa.Column("sla_due_at", UTC, nullable=True))
        batch_op.add_column(sa.Column("sla_breached_at", UTC, nullable=True))
        batch_op.add_column(sa.Column("resolved_at", UTC, nullable=True))
        batch_op.add_column(sa.Column("resolved_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("anonymised_at", UTC, nullable=True))
        batch_op.create_index("ix_case_assignee_id", ["assignee_id"])
        batch_op.create_foreign_key("fk_case_assignee_user", "desk_user", ["assignee_id"], ["id"])
        batch_op.create_foreign_key(
            "fk_case_first_response_user", "desk_user", ["first_response_by"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_constraint("fk_case_first_response_user", type_="foreignkey")
        batch_op.drop_constraint("fk_case_assignee_user", type_="foreignkey")
        batch_op.drop_index("ix_case_assignee_id")
        for column in (
            "anonymised_at",
            "resolved_by",
            "resolved_at",
            "sla_breached_at",
            "sla_due_at",
            "frt_missed_at",
            "first_response_by",
            "first_response_at",
            "assigned_at",
            "assignee_id",
            "handed_off_at",
            "source",
        ):
            batch_op.drop_column(column)
    for table in (
        "qareview",
        "escalation",
        "compensation",
        "casenote",
        "caseevent",
        "websession",
        "desk_user",
    ):
        op.drop_table(table)
