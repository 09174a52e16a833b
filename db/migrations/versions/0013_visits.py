"""visits: the Operations route of a case, remote steps, technicians and work orders

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def _when(name: str, *, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "caseroute",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("suggested", sa.String(length=16), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("route", sa.String(length=16), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        _when("decided_at", nullable=True),
        _when("created_at"),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"]),
        sa.PrimaryKeyConstraint("case_id"),
    )
    op.create_index("ix_caseroute_route", "caseroute", ["route"])
    op.create_table(
        "remotestep",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("phrase_key", sa.String(length=64), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.Column("sent_by", sa.String(length=64), nullable=False),
        _when("sent_at"),
        _when("result_at", nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_remotestep_case_id", "remotestep", ["case_id"])
    op.create_table(
        "technician",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("telegram_chat_id", sa.String(length=64), nullable=True),
        sa.Column("whatsapp", sa.String(length=32), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        _when("created_at"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "visit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("technician_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("contact", sa.String(length=64), nullable=False),
        sa.Column("machine_id", sa.String(length=64), nullable=False),
        sa.Column("problem", sa.Text(), nullable=False),
        _when("window_start"),
        _when("window_end"),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("product_fault", sa.Boolean(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("photo_path", sa.String(length=255), nullable=True),
        sa.Column("notified_to", sa.String(length=64), nullable=True),
        sa.Column("notify_error", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        _when("created_at"),
        _when("updated_at"),
        _when("finished_at", nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"]),
        sa.ForeignKeyConstraint(["technician_id"], ["technician.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_visit_case_id", "visit", ["case_id"])
    op.create_index("ix_visit_technician_id", "visit", ["technician_id"])
    op.create_index("ix_visit_status", "visit", ["status"])
    op.create_index("ix_visit_window_end", "visit", ["window_end"])
    op.create_table(
        "visitevent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("photo_path", sa.String(length=255), nullable=True),
        _when("at"),
        sa.ForeignKeyConstraint(["visit_id"], ["visit.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_visitevent_visit_id", "visitevent", ["visit_id"])


def downgrade() -> None:
    op.drop_index("ix_visitevent_visit_id", table_name="visitevent")
    op.drop_table("visitevent")
    for name in ("window_end", "status", "technician_id", "case_id"):
        op.drop_index(f"ix_visit_{name}", table_name="visit")
    op.drop_table("visit")
    op.drop_table("technician")
    op.drop_index("ix_remotestep_case_id", table_name="remotestep")
    op.drop_table("remotestep")
    op.drop_index("ix_caseroute_route", table_name="caseroute")
    op.drop_table("caseroute")
