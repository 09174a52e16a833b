"""The inbox's statements: ingress numbers and stores messages, steppers claim chats.

Functions take the caller's connection and never commit; the caller's transaction makes
each of them durable together with what it belongs to.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, delete, func, select, update

from db.driver import (
    Mark,
    Statement,
    drop_deferred,
    mark_last_deferred,
    send_deferred,
    unsend_from,
)
from db.models import Chat, ChatClaim, InboxMessage

CHAT = cast(Table, Chat.__table__)  # type: ignore[attr-defined]
CHAT_CLAIM = cast(Table, ChatClaim.__table__)  # type: ignore[attr-defined]
INBOX = cast(Table, InboxMessage.__table__)  # type: ignore[attr-defined]
MAX_ERROR = 2000  # characters of a failed step's error kept with the message
CLAIM_ROWS_PER_CHAT = 8  # waiting messages read per chat a stepper wants to claim
Waiting = tuple[int, str, int]  # a message to step: inbox id, payload, failed attempts
NOTIFY_CHANNEL = "loket_inbox"  # PostgreSQL LISTEN/NOTIFY: wakes steppers on any worker


@dataclass(frozen=True, slots=True)
class InboxRow:
    """One message to accept: where it belongs, its idempotency key, its parsed payload."""

    channel: str
    chat_id: str
    external_id: str
    payload: str


# The per-message statements run on the driver cursor of the caller's transaction
# (db/driver.py): ingress and the stepper run them for every message, and SQLAlchemy Core
# spent more time building and caching them than the database spent running them.
# A message is numbered and stored by three statements that need no answer from each other,
# so on PostgreSQL a whole batch goes to the server in one pipeline (db/driver.py).
_BUMP = Statement(
    "INSERT INTO chat (channel, chat_id, last_seq) VALUES (:channel, :chat_id, 1)"
    " ON CONFLICT (channel, chat_id) DO UPDATE SET last_seq = chat.last_seq + 1"
)
_CLAIM_ROW = Statement(  # a chat seen for the first time gets the row steppers lock
    "INSERT INTO chatclaim (chat_key) SELECT id FROM chat"
    " WHERE channel = :channel AND chat_id = :chat_id AND last_seq = 1"
    " ON CONFLICT (chat_key) DO NOTHING"
)
_STORE = Statement(  # the number the bump just gave, read under the chat row's lock
    "INSERT INTO inboxmessage"
    " (chat_key, seq, channel, external_id, payload, received_at, attempts)"
    " SELECT id, last_seq, channel, :external_id, :payload, :received_at, 0 FROM chat"
    " WHERE channel = :channel AND chat_id = :chat_id"
    " ON CONFLICT (channel, external_id) DO NOTHING RETURNING id"
)
_NOTIFY = Statement(f"SELECT pg_notify('{NOTIFY_CHANNEL}', '')")
_MARK_STEPPED = Statement(
    "UPDATE inboxmessage SET stepped_at = :now, error = :error WHERE id = :inbox_id"
)
# One step's own savepoint: a failing step undoes only itself (the caller pairs them).
SAVEPOINT = Statement("SAVEPOINT loket_step")
RELEASE = Statement("RELEASE SAVEPOINT loket_step")
_ROLLBACK_TO = Statement("ROLLBACK TO SAVEPOINT loket_step")
_OLDEST_WAITING = Statement(
    "SELECT chat_key FROM inboxmessage WHERE stepped_at IS NULL ORDER BY id LIMIT :rows"
)
_CHAT_KEY = Statement("SELECT id FROM chat WHERE channel = :channel AND chat_id = :chat_id")


def record_inbound(conn: Connection, *, rows: Sequence[InboxRow], now: datetime) -> list[bool]:
    """Number and store each message; False for a message already in the inbox.

    The chat's counter is bumped first, which takes the chat row's lock until the caller
    commits, so numbers follow commit order within a chat. A duplicate leaves a gap in the
    numbers, which costs nothing: steppers follow the order, not the count.
    """
    stored = []
    for row in rows:
        chat = {"channel": row.channel, "chat_id": row.chat_id}
        _BUMP.defer(conn, chat)
        _CLAIM_ROW.defer(conn, chat)
        stored.append(
            _STORE.first_later(
                conn,
                {
                    **chat,
                    "external_id": row.external_id,
                    "payload": row.payload,
                    "received_at": now,
                },
            )
        )
    if conn.dialect.name == "postgresql":
        _NOTIFY.defer(conn)  # delivered at commit; after re-deliveries, a stepper finds nothing
    send_deferred(conn)
    return [later.row is not None for later in stored]


def claim(conn: Connection, *, limit: int) -> list[tuple[int, list[Waiting]]]:
    """Up to `limit` chats with messages to step, oldest waiting first, with those messages.

    Each chat's messages come in accepted order: (id, payload, attempts). On PostgreSQL the
    chats' claim rows are locked with SKIP LOCKED for this transaction, so steppers on any
    number of workers take different chats, and only the chats it steps are locked; SQLite
    has one writer at a time anyway.
    """
    # The oldest waiting messages' chats, first seen first; a chat with many waiting
    # messages fills several rows, so more rows than chats are read (ix_inbox_pending_order).
    # PostgreSQL reads further: other steppers may hold the first chats.
    postgres = conn.dialect.name == "postgresql"
    rows = limit * CLAIM_ROWS_PER_CHAT * (4 if postgres else 1)
    keys = list(dict.fromkeys(key for (key,) in _OLDEST_WAITING.all(conn, {"rows": rows})))
    if not keys:
        return []
    if postgres:
        # The read below is a statement of its own: it needs a snapshot taken after the
        # lock, or it could see a chat's messages as they were before another stepper
        # committed their steps.
        keys = [key for (key,) in _LOCK.all(conn, {"keys": keys, "limit": limit})]
    else:
        keys = keys[:limit]
    by_chat: dict[int, list[Waiting]] = {key: [] for key in keys}
    for chat_key, inbox_id, payload, attempts in _read_waiting(conn, keys):
        by_chat[chat_key].append((inbox_id, payload, attempts))
    return [(key, waiting) for key, waiting in by_chat.items() if waiting]


_LOCK = Statement(  # only as many claim rows as asked, first seen first
    "SELECT chat_key FROM chatclaim WHERE chat_key = ANY(:keys)"
    " ORDER BY array_position(:keys, chat_key) LIMIT :limit FOR UPDATE SKIP LOCKED"
)


def _read_waiting(conn: Connection, chat_keys: Sequence[int]) -> list[Any]:
    """(chat_key, id, payload, attempts) of these chats' waiting messages, in accepted order."""
    if not chat_keys:
        return []
    params = {f"k{i}": key for i, key in enumerate(chat_keys)}
    return list(_waiting_in(len(chat_keys)).all(conn, params))


@functools.cache
def _waiting_in(chats: int) -> Statement:
    """The waiting messages of that many chats (`:k0` ...): one statement per count."""
    keys = ", ".join(f":k{i}" for i in range(chats))  # placeholders only, never values
    return Statement(
        "SELECT chat_key, id, payload, attempts FROM inboxmessage"  # noqa: S608
        f" WHERE chat_key IN ({keys}) AND stepped_at IS NULL ORDER BY chat_key, seq"
    )


def lock_chat(conn: Connection, *, chat_key: int) -> None:
    """Wait for and take one chat's claim (PostgreSQL), to step it now, not skip it.

    SQLite's write transaction already excludes every other stepper.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(
            select(CHAT_CLAIM.c.chat_key)
            .where(CHAT_CLAIM.c.chat_key == chat_key)
            .with_for_update()
        )


def list_unstepped(conn: Connection, *, chat_key: int) -> list[Waiting]:
    """The chat's messages still to step, in accepted order: (id, payload, attempts)."""
    return [(r[1], r[2], r[3]) for r in _read_waiting(conn, [chat_key])]


def open_savepoint(conn: Connection) -> Mark:
    """The step savepoint, deferred: it goes to the server with the step's first statement."""
    SAVEPOINT.defer(conn)
    return mark_last_deferred(conn)


def undo_savepoint(conn: Connection, savepoint: Mark) -> None:
    """Undo what was done since `open_savepoint`, and end the savepoint.

    A step that failed before anything reached the server leaves the savepoint unsent too:
    then forgetting them is the whole undo (ROLLBACK TO an unsent savepoint would fail).
    """
    if unsend_from(conn, savepoint):
        return
    drop_deferred(conn)
    _ROLLBACK_TO.execute(conn)
    RELEASE.execute(conn)


def mark_stepped_many(conn: Connection, *, inbox_ids: Sequence[int], now: datetime) -> None:
    """These messages' steps are stored (one statement for a chat's batch)."""
    if inbox_ids:
        _MARK_STEPPED.run_many(
            conn, [{"now": now, "error": None, "inbox_id": inbox_id} for inbox_id in inbox_ids]
        )


def set_aside(conn: Connection, *, inbox_id: int, now: datetime, error: str) -> None:
    """The message's step kept failing: it is marked done with why, and kept for a look."""
    _MARK_STEPPED.execute(conn, {"now": now, "error": error[:MAX_ERROR], "inbox_id": inbox_id})


def record_step_failure(conn: Connection, *, inbox_id: int, error: str) -> None:
    """A step of this message raised: count it, keep why."""
    conn.execute(
        update(INBOX)
        .where(INBOX.c.id == inbox_id)
        .values(attempts=INBOX.c.attempts + 1, error=error[:MAX_ERROR])
    )


def chat_key_of(conn: Connection, *, channel: str, chat_id: str) -> int | None:
    """The inbox's number for a chat, if it ever wrote."""
    found = _CHAT_KEY.first(conn, {"channel": channel, "chat_id": chat_id})
    return int(found[0]) if found is not None else None


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


def purge_stepped(
    conn: Connection, *, stepped_before: datetime, set_aside_before: datetime
) -> int:
    """Forget stepped messages (their transcript lives on in the case); returns how many.

    A row is only the idempotency key once it is stepped, and providers re-deliver for hours,
    not days. Messages set aside after failing are kept longer, for someone to look at.
    """
    result = conn.execute(
        delete(INBOX).where(
            INBOX.c.stepped_at.is_not(None),
            ((INBOX.c.error.is_(None)) & (INBOX.c.stepped_at < stepped_before))
            | (INBOX.c.stepped_at < set_aside_before),
        )
    )
    return int(result.rowcount or 0)
