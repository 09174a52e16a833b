"""The inbox's statements: ingress numbers and stores messages, steppers claim chats.

Functions take the caller's connection and never commit; the caller's transaction makes
each of them durable together with what it belongs to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, RowMapping, Table, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from db.models import Chat, ChatClaim, InboxMessage

CHAT = cast(Table, Chat.__table__)  # type: ignore[attr-defined]
CHAT_CLAIM = cast(Table, ChatClaim.__table__)  # type: ignore[attr-defined]
INBOX = cast(Table, InboxMessage.__table__)  # type: ignore[attr-defined]
NOTIFY_CHANNEL = "loket_inbox"  # PostgreSQL LISTEN/NOTIFY: wakes steppers on any worker


@dataclass(frozen=True, slots=True)
class InboxRow:
    """One message to accept: where it belongs, its idempotency key, its parsed payload."""

    channel: str
    chat_id: str
    external_id: str
    payload: str


def _dialect_insert(conn: Connection, table: Table) -> Any:
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(table)


def record_inbound(conn: Connection, *, rows: Sequence[InboxRow], now: datetime) -> list[bool]:
    """Number and store each message; False for a message already in the inbox.

    The chat's counter is bumped first, which takes the chat row's lock until the caller
    commits, so numbers follow commit order within a chat. A duplicate leaves a gap in the
    numbers, which costs nothing: steppers follow the order, not the count.
    """
    bump = _dialect_insert(conn, CHAT).values(
        channel=bindparam("channel"), chat_id=bindparam("chat_id"), last_seq=1
    )
    bump = bump.on_conflict_do_update(
        index_elements=["channel", "chat_id"], set_={"last_seq": CHAT.c.last_seq + 1}
    ).returning(CHAT.c.id, CHAT.c.last_seq)
    claim = _dialect_insert(conn, CHAT_CLAIM).on_conflict_do_nothing()
    store = (
        _dialect_insert(conn, INBOX)
        .on_conflict_do_nothing(index_elements=["channel", "external_id"])
        .returning(INBOX.c.id)
    )
    fresh: list[bool] = []
    for row in rows:
        key, seq = conn.execute(bump, {"channel": row.channel, "chat_id": row.chat_id}).one()
        if seq == 1:  # a chat seen for the first time gets the row steppers lock
            conn.execute(claim, {"chat_key": key})
        stored = conn.execute(
            store,
            {
                "chat_key": key,
                "seq": seq,
                "channel": row.channel,
                "external_id": row.external_id,
                "payload": row.payload,
                "received_at": now,
                "attempts": 0,
            },
        ).first()
        fresh.append(stored is not None)
    if conn.dialect.name == "postgresql" and any(fresh):
        conn.execute(select(func.pg_notify(NOTIFY_CHANNEL, "")))  # sent at commit
    return fresh


def claim_chats(conn: Connection, *, limit: int) -> list[int]:
    """Chats with messages to step, oldest waiting first, locked for this transaction.

    On PostgreSQL each chat's claim row is locked with SKIP LOCKED, so steppers on any
    number of workers take different chats; SQLite has one writer at a time anyway.
    """
    waiting = [
        r[0]
        for r in conn.execute(
            select(INBOX.c.chat_key)
            .where(INBOX.c.stepped_at.is_(None))
            .group_by(INBOX.c.chat_key)
            .order_by(func.min(INBOX.c.id))
            .limit(limit * 4 if conn.dialect.name == "postgresql" else limit)
        )
    ]
    if not waiting or conn.dialect.name != "postgresql":
        return waiting
    locked = {
        r[0]
        for r in conn.execute(
            select(CHAT_CLAIM.c.chat_key)
            .where(CHAT_CLAIM.c.chat_key.in_(waiting))
            .with_for_update(skip_locked=True)
        )
    }
    return [key for key in waiting if key in locked][:limit]


def list_unstepped(conn: Connection, *, chat_key: int) -> list[RowMapping]:
    """The chat's messages still to step, in the order they were accepted."""
    return list(
        conn.execute(
            select(INBOX.c.id, INBOX.c.payload, INBOX.c.attempts)
            .where(INBOX.c.chat_key == chat_key, INBOX.c.stepped_at.is_(None))
            .order_by(INBOX.c.seq)
        ).mappings()
    )


def mark_stepped(
    conn: Connection, *, inbox_id: int, now: datetime, error: str | None = None
) -> None:
    """The message's step is stored (or, with `error`, set aside after repeated failures)."""
    conn.execute(update(INBOX).where(INBOX.c.id == inbox_id).values(stepped_at=now, error=error))


def record_step_failure(conn: Connection, *, inbox_id: int, error: str) -> None:
    """A step of this message raised: count it, keep why."""
    conn.execute(
        update(INBOX)
        .where(INBOX.c.id == inbox_id)
        .values(attempts=INBOX.c.attempts + 1, error=error[:2000])
    )


def is_accepted(conn: Connection, *, channel: str, external_id: str) -> bool:
    """Whether the inbox already holds this provider message."""
    found = conn.execute(
        select(INBOX.c.id).where(INBOX.c.channel == channel, INBOX.c.external_id == external_id)
    ).first()
    return found is not None


def chat_key_of(conn: Connection, *, channel: str, chat_id: str) -> int | None:
    """The inbox's number for a chat, if it ever wrote."""
    return conn.execute(
        select(CHAT.c.id).where(CHAT.c.channel == channel, CHAT.c.chat_id == chat_id)
    ).scalar()


def has_unstepped(conn: Connection) -> bool:
    """Whether any message waits for a stepper (an idle stepper's cheap look)."""
    found = conn.execute(select(INBOX.c.id).where(INBOX.c.stepped_at.is_(None)).limit(1))
    return found.first() is not None


def count_unstepped(conn: Connection) -> int:
    """Messages accepted but not stepped yet (health, tests, benchmarks)."""
    return int(
        conn.execute(
            select(func.count()).select_from(INBOX).where(INBOX.c.stepped_at.is_(None))
        ).scalar_one()
    )
