"""SQL run on the DB-API cursor of the caller's transaction: the receive path's few statements.

SQLAlchemy Core spends about 50-100 µs of Python per statement around SQLite's own 5-20 µs
(Core ~3,500 against raw ~16,000 transactions/s, docs/decisions/0005-hot-path-below-the-orm.md),
and every client message runs four or five statements. These few go straight to the driver,
on the same connection and in the same transaction as the caller's Core block, so they commit
or roll back with it. Everything else stays on Core.

SQL is written once with `:name` parameters (sqlite3's named style) and translated to
`%(name)s` for PostgreSQL's psycopg. Datetimes are stored on SQLite the way SQLAlchemy's
DateTime stores them (text, microseconds always present), so both read each other's rows.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

_NAMED = re.compile(r"(?<![:\w]):(\w+)")


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

    def _run(self, conn: Connection, params: Mapping[str, Any] | None) -> Any:
        """Execute once; returns the open cursor for the caller to read and close.

        Raises:
            sqlalchemy.exc.DBAPIError: as Core would raise it (IntegrityError for a
                duplicate key, OperationalError for a locked or unreachable database).
        """
        sql = self.sql if conn.dialect.name == "sqlite" else self.pyformat_sql
        bound = params or {}
        cursor = conn.connection.cursor()
        try:
            cursor.execute(sql, bound)
        except conn.dialect.loaded_dbapi.Error as exc:
            cursor.close()
            raise _as_sqlalchemy(conn, sql, bound, exc) from exc
        return cursor

    def run_many(self, conn: Connection, rows: Iterable[Mapping[str, Any]]) -> None:
        """Execute once per parameter set (several replies, several events)."""
        sql = self.sql if conn.dialect.name == "sqlite" else self.pyformat_sql
        bound = list(rows)
        cursor = conn.connection.cursor()
        try:
            cursor.executemany(sql, bound)
        except conn.dialect.loaded_dbapi.Error as exc:
            raise _as_sqlalchemy(conn, sql, bound, exc) from exc
        finally:
            cursor.close()


def _as_sqlalchemy(conn: Connection, sql: str, params: Any, exc: Exception) -> DBAPIError:
    error = DBAPIError.instance(
        sql, params, exc, conn.dialect.loaded_dbapi.Error, dialect=conn.dialect
    )
    return error if isinstance(error, DBAPIError) else DBAPIError(sql, params, exc)
