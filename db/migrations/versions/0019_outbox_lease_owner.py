"""outbox lease owner: which worker leased a reply last

A dispatcher leases a reply by pushing its due time ahead; with several background workers
(`loket serve --workers N` on PostgreSQL, `loket worker` on other hosts) nothing said whose
lease it was. `leased_by` names the worker (host:pid): the database tells an operator who
holds a reply that has not left, and the fault benchmark counts exactly what a killed
worker had in flight. On a sent reply it names the worker that sent it.

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("message") as batch:
        batch.add_column(sa.Column("leased_by", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("message") as batch:
        batch.drop_column("leased_by")
