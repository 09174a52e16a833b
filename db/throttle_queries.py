"""Counting statements over the `throttle` table; each is atomic on SQLite and PostgreSQL.

Keyword-only, connection first, never commit: the caller owns the transaction.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Connection, Table, delete, select, text, update

from db.models import Throttle

THROTTLE = cast(Table, Throttle.__table__)  # type: ignore[attr-defined]

# One statement: PostgreSQL's ON CONFLICT locks the row, SQLite's BEGIN IMMEDIATE holds the
# only write lock, so concurrent callers each see their own count (no lost updates).
_COUNT = text(
    "INSERT INTO throttle (key, hits, window_start, blocked_until)"
    " VALUES (:key, 1, :now, 0)"
    " ON CONFLICT (key) DO UPDATE SET"
    " hits = CASE WHEN throttle.window_start <= :expired THEN 1 ELSE throttle.hits + 1 END,"
    " window_start = CASE WHEN throttle.window_start <= :expired"
    " THEN :now ELSE throttle.window_start END"
    " RETURNING hits, window_start"
)
_TOUCH = text(
    "INSERT INTO throttle (key, hits, window_start, blocked_until)"
    " VALUES (:key, 0, :now, 0) ON CONFLICT (key) DO NOTHING"
)


def count_hit(conn: Connection, *, key: str, now: float, window: float) -> tuple[int, float]:
    """Count one hit in the key's fixed window; returns (hits so far, when the window opened)."""
    row = conn.execute(_COUNT, {"key": key, "now": now, "expired": now - window}).one()
    return int(row.hits), float(row.window_start)


def lock_counter(conn: Connection, *, key: str, now: float) -> Any:
    """The key's row (hits, window_start, blocked_until), created if new, locked till commit."""
    conn.execute(_TOUCH, {"key": key, "now": now})
    return conn.execute(
        select(THROTTLE.c.hits, THROTTLE.c.window_start, THROTTLE.c.blocked_until)
        .where(THROTTLE.c.key == key)
        .with_for_update()
    ).one()


def save_counter(
    conn: Connection, *, key: str, hits: int, window_start: float, blocked_until: float
) -> None:
    """Store a row read with `lock_counter`."""
    conn.execute(
        update(THROTTLE)
        .where(THROTTLE.c.key == key)
        .values(hits=hits, window_start=window_start, blocked_until=blocked_until)
    )


def forget_counter(conn: Connection, *, key: str) -> None:
    """Drop a key (a successful login clears its failures)."""
    conn.execute(delete(THROTTLE).where(THROTTLE.c.key == key))


def sweep_counters(conn: Connection, *, before: float) -> int:
    """Delete keys idle since `before` and not blocked past it; returns how many."""
    result = conn.execute(
        delete(THROTTLE).where(THROTTLE.c.window_start < before, THROTTLE.c.blocked_until < before)
    )
    return int(result.rowcount or 0)
