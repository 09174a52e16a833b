"""The engine: SQLite in WAL mode, where reads never wait and writers queue; or PostgreSQL.

On SQLite a transaction is a write transaction unless it comes from `read()`:
`engine.begin()` and `engine.connect()` take the write lock at BEGIN (BEGIN IMMEDIATE), so
two writers cannot both read a row and then lose one update. `read()` gives a deferred
transaction instead: in WAL mode it reads one consistent snapshot and takes no write lock,
so pages and event streams never queue behind webhook writes. docs/database.md has the
measurements.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.pool import NullPool

from db import driver

# Found through the package, as installed (wheel or source tree), never beside the tree.
MIGRATIONS = Path(str(resources.files("db.migrations")))

WRITE_WAIT_SECONDS = 10.0  # how long a writer queues for its turn before giving up
BUSY_TIMEOUT_MS = 10_000  # SQLite's own wait, for every statement outside BEGIN IMMEDIATE
_FIRST_PAUSE = 0.0001  # a writer's retries: 0.1 ms, doubling to...
_LONGEST_PAUSE = 0.001  # ...1 ms, so a turn is missed by at most ~1 ms behind a long one
_READ = "loket_read"  # the execution option read() sets and the begin listener checks


@contextmanager
def read(engine: Engine) -> Iterator[Connection]:
    """Open a connection for reading only, which never waits for a writer.

    On SQLite its transactions are deferred: the first SELECT fixes a WAL snapshot that
    stays consistent until the block ends, and no write lock is taken, so a page or event
    stream answers while a webhook batch is writing. Do not write through it: a deferred
    transaction that later writes can fail, or lose an update, where BEGIN IMMEDIATE would
    have queued. On PostgreSQL this is a plain connection (its reads never wait anyway).

    Usage::

        with read(engine) as conn:
            rows = conn.execute(select(CASE)).mappings().all()

    Args:
        engine: An engine from `make_engine`.

    Yields:
        A connection; its transaction is rolled back when the block ends.
    """
    with engine.connect() as conn:
        # sets the option on this Connection only (in place, a dict union): no per-call engine
        conn.execution_options(**{_READ: True})
        yield conn


def sqlite_file(url: str) -> Path | None:
    """The SQLite database file of `url`; None for another database or in memory."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(str(parsed.database)).resolve()


def sqlite_directory(url: str) -> Path | None:
    """The directory of a SQLite database file; None for another database or in memory."""
    found = sqlite_file(url)
    return None if found is None else found.parent


def make_engine(url: str) -> Engine:
    """Build the engine; for SQLite, WAL mode with writers taking the write lock at BEGIN.

    Plain pysqlite BEGIN lets two writers read, then lose one update silently; BEGIN
    IMMEDIATE makes the second wait instead. Reads opt out of that through `read()`.

    Args:
        url: A SQLAlchemy database URL (sqlite:///path or postgresql+psycopg://...).

    Returns:
        The engine; `engine.begin()` and `engine.connect()` give write transactions.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        engine = create_engine(url, pool_pre_ping=True)
        _send_deferred_writes_first(engine)
        return engine
    in_memory = parsed.database in (None, "", ":memory:")
    if not in_memory:
        Path(str(parsed.database)).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False},
        poolclass=NullPool if in_memory else None,
        # every use is a block that commits or rolls back itself
        pool_reset_on_return=None,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # stop pysqlite's own BEGIN handling
        for pragma in (
            f"busy_timeout={BUSY_TIMEOUT_MS}",  # first: switching to WAL may have to wait
            "journal_mode=WAL",
            "synchronous=NORMAL",
            "wal_autocheckpoint=10000",
            "foreign_keys=ON",
        ):
            dbapi_connection.execute(f"PRAGMA {pragma}")

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # straight to the driver: this runs once per transaction on the hot path
        dbapi_connection: Any = connection.connection.dbapi_connection
        if connection.get_execution_options().get(_READ):
            dbapi_connection.execute("BEGIN")  # deferred: a snapshot at the first SELECT
            return
        try:
            begin_immediate(dbapi_connection, WRITE_WAIT_SECONDS)
        except sqlite3.OperationalError as exc:  # as Core raises it for any statement
            raise OperationalError("BEGIN IMMEDIATE", None, exc) from exc

    return engine


def _send_deferred_writes_first(engine: Engine) -> None:
    """Writes the driver deferred (db/driver.py) go before Core's statements and the commit.

    A rollback drops them with the rest of the transaction; a connection going back to the
    pool never keeps any.
    """

    @event.listens_for(engine, "before_cursor_execute")
    def _before_statement(conn: Connection, *_: Any) -> None:
        driver.send_deferred(conn)

    event.listen(engine, "commit", driver.send_deferred)
    event.listen(engine, "rollback", driver.drop_deferred)

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info.pop(driver.DEFERRED_KEY, None)


def begin_immediate(dbapi_connection: Any, wait: float) -> None:
    """Take SQLite's write lock, retrying every 0.1-1 ms until `wait` seconds have passed.

    SQLite's busy handler sleeps 1, 2, 5, 10, 15, 20... ms between tries, so a writer
    queued behind a 1 ms transaction measured ~35 ms late. Here the busy timeout is off for
    the BEGIN only, and the retries are ours: the next writer, in this process or another,
    starts within about a millisecond of the commit. The lock is SQLite's own, so a
    crashed process frees it and nothing else is needed to share it between processes.

    Args:
        dbapi_connection: A sqlite3 connection in autocommit mode (isolation_level None).
        wait: Seconds to keep trying.

    Raises:
        sqlite3.OperationalError: "database is locked" when no turn came within `wait`.
    """
    dbapi_connection.execute("PRAGMA busy_timeout=0")
    try:
        deadline = time.monotonic() + wait
        pause = _FIRST_PAUSE
        while True:
            try:
                dbapi_connection.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                # any SQLITE_BUSY_* (the low byte is the primary result code)
                if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:
                    raise
                if time.monotonic() >= deadline:
                    raise sqlite3.OperationalError(
                        f"database is locked (no write turn in {wait:g} s)"
                    ) from exc
            time.sleep(pause)
            pause = min(pause * 2, _LONGEST_PAUSE)
    finally:
        # statements inside the transaction and all reads keep SQLite's patient wait
        dbapi_connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


# PostgreSQL advisory lock keys: one process at a time does each start-up step.
MIGRATION_LOCK = 7_271_001
FIRST_ADMIN_LOCK = 7_271_002


def take_turn(connection: Connection, key: int) -> None:
    """Wait, inside this transaction, until no other process holds the turn named by `key`.

    For one-time work that processes starting together all try (the first admin): the first
    does it, the others then find it done. PostgreSQL: a transaction-scoped advisory lock,
    freed at commit, rollback or a crash. SQLite: nothing to do, since every write
    transaction already holds the database's one write lock from its BEGIN IMMEDIATE.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision; run at every start.

    A database already at the newest revision (every start but the first after an upgrade)
    is only read: Alembic is not even imported, which keeps it out of every worker's memory
    (about 7 MB each). Processes starting together on one PostgreSQL database (a web host
    and a worker) take turns under an advisory lock: the first migrates, the others find
    nothing left to do. SQLite's BEGIN IMMEDIATE already makes them take turns.
    """
    if _revision_of(engine) == head_revision():
        return
    from alembic import command

    config = _alembic_config()
    with engine.connect() as connection:
        take_turn(connection, MIGRATION_LOCK)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        connection.commit()


def head_revision() -> str:
    """The newest migration's revision: our files are named after their revision (0017_...).

    tests/test_migrations.py holds that to Alembic's own idea of the head.
    """
    return max(path.name[:4] for path in (MIGRATIONS / "versions").glob("[0-9]" * 4 + "_*.py"))


def _revision_of(engine: Engine) -> str | None:
    """The revision the database says it is at; None before the first migration."""
    with read(engine) as connection:
        try:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except DBAPIError:  # no such table yet: a new database
            return None


def schema_revisions(engine: Engine) -> tuple[str | None, str, bool]:
    """Where the schema is against this code: (database revision, head, head knows it).

    The database revision is None before the first migration. The flag is False when the
    database carries a revision this code has never seen: a newer Loket migrated it.
    """
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_alembic_config())
    head = script.get_current_head()
    assert head is not None  # our migrations are one line, never branched
    with read(engine) as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    known = current is None or current in {rev.revision for rev in script.walk_revisions()}
    return current, head, known


def _alembic_config() -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def as_utc(moment: datetime | None) -> datetime | None:
    """Give back an aware UTC datetime; SQLite returns stored datetimes without a zone."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
