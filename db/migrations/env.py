"""Alembic environment: runs on the connection the application hands over."""

from alembic import context

connection = context.config.attributes["connection"]
# transactional_ddl: all of an upgrade is one transaction on SQLite too (our engine issues
# BEGIN IMMEDIATE itself), so processes starting together on a fresh file take turns
# instead of each reading the old version and creating the same tables.
context.configure(
    connection=connection,
    render_as_batch=connection.dialect.name == "sqlite",
    transactional_ddl=True,
)
with context.begin_transaction():
    context.run_migrations()
