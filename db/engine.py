"""The engine: SQLite in WAL mode with write locks taken up front, or PostgreSQL; migrations."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


LOCK_WAIT_SECONDS = 10.0  # as long as SQLite's busy_timeout below


class WriterLockedConnection(sqlite3.Connection):
    """A SQLite connection that queues for the write lock on a lock file, not in SQLite.

    Every transaction here takes SQLite's write lock (BEGIN IMMEDIATE). A connection that
    finds it taken waits in SQLite's busy handler, which sleeps 1, 2, 5, 10, 15 ms... between
    tries: a webhook batch waiting behind the outbox process's short transaction measured
    35 ms. Transactions first take an exclusive lock on `<database>.writer.lock` (flock,
    tried every 0.1-2 ms), so the next writer starts within about a millisecond of the
    commit, in this process or another. The lock is the OS's: a crashed process frees it.
    """

    lock_path: ClassVar[str]
    lock_wait: ClassVar[float] = LOCK_WAIT_SECONDS
    _lock_fd: int | None = None
    _locked = False

    def begin_immediate(self) -> None:
        """Take the writer lock, then SQLite's (BEGIN IMMEDIATE)."""
        self._acquire()
        try:
            self.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._release()
            raise

    def commit(self) -> None:
        """Commit, then let the next writer in."""
        try:
            super().commit()
        finally:
            self._release()

    def rollback(self) -> None:
        """Roll back, then let the next writer in."""
        try:
            super().rollback()
        finally:
            self._release()

    def close(self) -> None:
        """Close the database connection and the lock file."""
        try:
            super().close()
        finally:
            self._release()
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None

    def _acquire(self) -> None:
        if self._lock_fd is None:
            self._lock_fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + self.lock_wait
        pause = 0.0001
        while True:
            try:
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise sqlite3.OperationalError(
                        f"database is locked (no write turn in {self.lock_wait:g} s)"
                    ) from None
                time.sleep(pause)
                pause = min(pause * 2, 0.002)
                continue
            self._locked = True
            return

    def _release(self) -> None:
        if self._locked and self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            self._locked = False


def make_engine(url: str, *, lock_wait: float = LOCK_WAIT_SECONDS) -> Engine:
    """Build the engine; for SQLite, make every transaction take the write lock at BEGIN.

    Plain pysqlite BEGIN lets two writers read, then lose one update silently
    (LIBRARIES.md); BEGIN IMMEDIATE makes the second wait instead. For a database file the
    wait is a queue on a lock file (WriterLockedConnection), not SQLite's sleeping retries.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    connect_args: dict[str, Any] = {"check_same_thread": False}
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        lock_path = f"{Path(parsed.database).resolve()}.writer.lock"
        connect_args["factory"] = type(
            "WriterLocked",
            (WriterLockedConnection,),
            {"lock_path": lock_path, "lock_wait": lock_wait},
        )
    engine = create_engine(
        url,
        connect_args=connect_args,
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
        dbapi_connection = connection.connection.dbapi_connection
        if isinstance(dbapi_connection, WriterLockedConnection):
            try:
                dbapi_connection.begin_immediate()
            except sqlite3.OperationalError as exc:  # as Core raises it for any statement
                raise OperationalError("BEGIN IMMEDIATE", None, exc) from exc
        else:  # an in-memory database: one connection, nobody to queue behind
            dbapi_connection.execute("BEGIN IMMEDIATE")

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
