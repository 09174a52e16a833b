"""SQL run on the DB-API cursor of the caller's transaction: the receive path's few statements.

SQLAlchemy Core spends about 50-100 µs of Python per statement around SQLite's own 5-20 µs
(Core ~3,500 against raw ~16,000 transactions/s, docs/decisions/0005-hot-path-below-the-orm.md),
and every client message runs four or five statements. These few go straight to the driver,
on the same connection and in the same transaction as the caller's Core block, so they commit
or roll back with it. Everything else stays on Core.

SQL is written once with `:name` parameters (sqlite3's named style) and translated to
`%(name)s` for PostgreSQL's psycopg. Datetimes are stored on SQLite the way SQLAlchemy's
DateTime stores them (text, microseconds always present), so both read each other's rows.

Writes nobody reads the result of can be deferred (`defer`, `defer_many`): on PostgreSQL
they wait on the connection and go to the server with its next statement, in one pipeline,
so a step's writes cost one round trip instead of one each (docs/database.md). A deferred
write that fails raises from that next statement, or from the commit (db/engine.py sends
what is left before Core statements and commits, and drops it on rollback). On SQLite,
where a statement is a function call, they run at once.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

_NAMED = re.compile(r"(?<![:\w]):(\w+)")
DEFERRED_KEY = "loket_deferred_writes"  # key in the connection's info: [_Deferred]


def sqlite_datetime(moment: datetime) -> str:
    """The text SQLAlchemy's SQLite DateTime writes: compared as text in WHERE clauses.

    Its fields as they are, offset left out; isoformat is several times quicker than strftime.
    """
    return moment.isoformat(" ", "microseconds")[:26]


# sqlite3 turns every datetime parameter into that text itself (C calls this once per
# value): the statements below pass their parameters through untouched, and a datetime
# given to `text()` SQL is stored the way SQLAlchemy's columns store it.
sqlite3.register_adapter(datetime, sqlite_datetime)


def read_datetime(value: datetime | str | None) -> datetime | None:
    """A datetime column as the driver returns it (text on SQLite)."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


class Statement:
    """One SQL statement with named parameters, run on the connection's own DB-API cursor.

    `:name` is translated to `%(name)s` for psycopg without parsing the SQL, so a statement
    must not hold `:word` inside a string literal: pass such values as parameters.
    """

    def __init__(self, sql: str) -> None:
        self.sql = sql
        self.pyformat_sql = _NAMED.sub(r"%(\1)s", sql.replace("%", "%%"))

    def _for(self, conn: Connection) -> str:
        return self.sql if conn.dialect.name == "sqlite" else self.pyformat_sql

    def execute(self, conn: Connection, params: Mapping[str, Any] | None = None) -> int:
        """Execute once (an UPDATE or INSERT); returns how many rows it changed."""
        cursor = self._run(conn, params)
        try:
            return int(cursor.rowcount)
        finally:
            cursor.close()

    def first(self, conn: Connection, params: Mapping[str, Any] | None = None) -> Any:
        """The first row (a tuple), or None."""
        cursor = self._run(conn, params)
        try:
            return cursor.fetchone()
        finally:
            cursor.close()

    def all(self, conn: Connection, params: Mapping[str, Any] | None = None) -> list[Any]:
        """Every row (tuples)."""
        cursor = self._run(conn, params)
        try:
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def defer(self, conn: Connection, params: Mapping[str, Any] | None = None) -> None:
        """Execute with the connection's next statement or commit (a write, result unread)."""
        self._later(conn, params or {}, False, None)

    def defer_many(self, conn: Connection, rows: Iterable[Mapping[str, Any]]) -> None:
        """`run_many`, deferred as `defer` is."""
        self._later(conn, list(rows), True, None)

    def first_later(self, conn: Connection, params: Mapping[str, Any] | None = None) -> Later:
        """`first`, deferred as `defer` is: the row is there once `send_deferred` returns."""
        later = Later()
        self._later(conn, params or {}, False, later)
        return later

    def _later(self, conn: Connection, params: Any, many: bool, later: Later | None) -> None:
        deferred = _Deferred(self._for(conn), params, many, later)
        if conn.dialect.name == "sqlite":  # nothing to save: run it now
            _send(conn, deferred).close()
        else:
            conn.info.setdefault(DEFERRED_KEY, []).append(deferred)

    def _run(self, conn: Connection, params: Mapping[str, Any] | None) -> Any:
        """Execute once (after the deferred writes); returns the open cursor to read and close.

        Raises:
            sqlalchemy.exc.DBAPIError: as Core would raise it (IntegrityError for a
                duplicate key, OperationalError for a locked or unreachable database).
        """
        return _send(conn, _Deferred(self._for(conn), params or {}, False, None))

    def run_many(self, conn: Connection, rows: Iterable[Mapping[str, Any]]) -> None:
        """Execute once per parameter set (several replies, several events)."""
        _send(conn, _Deferred(self._for(conn), list(rows), True, None)).close()


class Later:
    """The row a deferred statement returns (None when it returns none), once it ran."""

    __slots__ = ("row",)

    def __init__(self) -> None:
        self.row: Any = None


class _Deferred(NamedTuple):
    sql: str
    params: Any
    many: bool
    later: Later | None  # where its first row goes


def send_deferred(conn: Connection) -> None:
    """Send the connection's deferred statements now (before Core's, the commit, a result)."""
    if conn.info.get(DEFERRED_KEY):
        _send(conn, None).close()


def drop_deferred(conn: Connection) -> None:
    """Forget the deferred writes: the transaction or savepoint they belong to is undone."""
    conn.info.pop(DEFERRED_KEY, None)


class Mark(NamedTuple):
    """A deferred statement's place on its connection, while it is still unsent."""

    pending: list[_Deferred] | None  # the connection's list it joined (None: it ran at once)
    position: int


def mark_last_deferred(conn: Connection) -> Mark:
    """Where the statement deferred last waits (SQLite's ran at once: an empty mark)."""
    pending = conn.info.get(DEFERRED_KEY)
    return Mark(pending, len(pending) - 1) if pending else Mark(None, 0)


def unsend_from(conn: Connection, mark: Mark) -> bool:
    """Forget the marked statement and all deferred after it, if none was sent yet.

    False when they were sent (sending takes the whole list off the connection), or ran
    at once: then the database has them, and only a rollback undoes them.
    """
    pending = conn.info.get(DEFERRED_KEY)
    if mark.pending is None or pending is not mark.pending:
        return False
    del pending[mark.position :]
    return True


def _send(conn: Connection, last: _Deferred | None) -> Any:
    """Run the deferred statements, then `last`, in one pipeline; returns `last`'s cursor."""
    # SQLite never keeps any (`Statement._later`): its statements skip the lookup
    batch: list[_Deferred] = (
        [] if conn.dialect.name == "sqlite" else conn.info.pop(DEFERRED_KEY, [])
    )
    if last is not None:
        batch.append(last)
    cursor = conn.connection.cursor()
    others: list[Any] = []
    try:
        if len(batch) == 1:
            _execute(cursor, batch[0])
        else:
            psycopg_connection: Any = conn.connection.driver_connection
            with psycopg_connection.pipeline():
                for deferred in batch[:-1]:
                    others.append(conn.connection.cursor())
                    _execute(others[-1], deferred)
                _execute(cursor, batch[-1])
        for deferred, used in zip(batch, [*others, cursor], strict=True):
            if deferred.later is not None:
                deferred.later.row = used.fetchone()
    except conn.dialect.loaded_dbapi.Error as exc:
        cursor.close()
        sql, params = ("; ".join(d.sql for d in batch), batch) if others else batch[0][:2]
        raise _as_sqlalchemy(conn, sql, params, exc) from exc
    finally:
        for used in others:
            used.close()
    return cursor


def _execute(cursor: Any, deferred: _Deferred) -> None:
    if deferred.many:
        cursor.executemany(deferred.sql, deferred.params)
    else:
        cursor.execute(deferred.sql, deferred.params)


def _as_sqlalchemy(conn: Connection, sql: str, params: Any, exc: Exception) -> DBAPIError:
    error = DBAPIError.instance(
        sql, params, exc, conn.dialect.loaded_dbapi.Error, dialect=conn.dialect
    )
    return error if isinstance(error, DBAPIError) else DBAPIError(sql, params, exc)
