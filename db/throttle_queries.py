"""Counting statements over the `throttle` table; each is atomic on SQLite and PostgreSQL.

Keyword-only, connection first, never commit: the caller owns the transaction.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Connection, Table, and_, delete, exists, func, or_, select, text, update

from db.models import Throttle, WebChatOrigin
from db.queries import CASE

THROTTLE = cast(Table, Throttle.__table__)  # type: ignore[attr-defined]
ORIGIN = cast(Table, WebChatOrigin.__table__)  # type: ignore[attr-defined]

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


def count_open_web_chats(conn: Connection, *, address: str, pending_since: float) -> int:
    """How many web chats this address started hold an open case or will soon.

    "Soon": the chat started after `pending_since` and its first message waits for a stepper.
    """
    web_case = and_(CASE.c.channel == "web", CASE.c.chat_id == ORIGIN.c.chat_id)
    open_case = exists().where(web_case, CASE.c.closed_at.is_(None))
    any_case = exists().where(web_case)
    query = select(func.count()).where(
        ORIGIN.c.address == address,
        or_(open_case, and_(~any_case, ORIGIN.c.started_at > pending_since)),
    )
    return int(conn.execute(query).scalar_one())


def record_web_chat_origin(conn: Connection, *, chat_id: str, address: str, now: float) -> None:
    """Remember which address started (or restarted, after a day's silence) this chat."""
    conn.execute(delete(ORIGIN).where(ORIGIN.c.chat_id == chat_id))
    conn.execute(ORIGIN.insert().values(chat_id=chat_id, address=address, started_at=now))


def sweep_web_chat_origins(conn: Connection, *, before: float) -> int:
    """Forget origins started before `before` whose chat has no open case."""
    open_case = exists().where(
        CASE.c.channel == "web", CASE.c.chat_id == ORIGIN.c.chat_id, CASE.c.closed_at.is_(None)
    )
    result = conn.execute(delete(ORIGIN).where(ORIGIN.c.started_at < before, ~open_case))
    return int(result.rowcount or 0)
