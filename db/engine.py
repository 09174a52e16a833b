"""The engine: SQLite in WAL mode with write locks taken up front, or PostgreSQL; migrations."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def make_engine(url: str) -> Engine:
    """Build the engine; for SQLite, make every transaction take the write lock at BEGIN.

    Plain pysqlite BEGIN lets two writers read, then lose one update silently
    (LIBRARIES.md); BEGIN IMMEDIATE makes the second wait for busy_timeout instead.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False},
        poolclass=NullPool if parsed.database in (None, "", ":memory:") else None,
        # every use is an engine.begin() block that commits or rolls back itself
        pool_reset_on_return=None,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # stop pysqlite's own BEGIN handling
        for pragma in (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            "busy_timeout=10000",
            "wal_autocheckpoint=10000",
        ):
            dbapi_connection.execute(f"PRAGMA {pragma}")
        dbapi_connection.execute("PRAGMA foreign_keys=ON")

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # straight to the driver: this runs once per transaction on the hot path
        connection.connection.dbapi_connection.execute("BEGIN IMMEDIATE")

    return engine


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision; run at every start."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        connection.commit()


def as_utc(moment: datetime | None) -> datetime | None:
    """Give back an aware UTC datetime; SQLite returns stored datetimes without a zone."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
