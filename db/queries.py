"""Keyword-only queries on SQLAlchemy Core, connection first; the caller owns the transaction.

The receive path runs here at 1,000+ messages/s, so it uses Core statements rather than ORM
objects (the ORM tops out near 900 transactions/s: docs/decisions/0005-hot-path-below-the-orm.md),
and its four busiest statements go straight to the driver (db/driver.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Connection,
    RowMapping,
    Table,
    func,
    insert,
    select,
    text,
    update,
)

from db.driver import Statement, read_datetime
from db.models import Attachment, Case, CaseEvent, Contact, Message, SurveyAnswer

CASE = cast(Table, Case.__table__)  # type: ignore[attr-defined]
CONTACT = cast(Table, Contact.__table__)  # type: ignore[attr-defined]
MESSAGE = cast(Table, Message.__table__)  # type: ignore[attr-defined]
ATTACHMENT = cast(Table, Attachment.__table__)  # type: ignore[attr-defined]
SURVEY = cast(Table, SurveyAnswer.__table__)  # type: ignore[attr-defined]
CASE_EVENT = cast(Table, CaseEvent.__table__)  # type: ignore[attr-defined]

# The receive path's statements go straight to the driver (db/driver.py); the rest is Core.
_MESSAGE_EXISTS = Statement(
    "SELECT id FROM message WHERE channel = :channel AND external_id = :external_id"
)
_OPEN_CASE_SQL = (
    'SELECT id, profile, state, locale, category, fields_json, context_json, opened_at FROM "case"'
    " WHERE channel = :channel AND chat_id = :chat_id AND closed_at IS NULL"
)
_OPEN_CASE = Statement(_OPEN_CASE_SQL)
_OPEN_CASE_LOCKED = Statement(_OPEN_CASE_SQL + " FOR UPDATE")
_INSERT_MESSAGE_SQL = (
    "INSERT INTO message (case_id, channel, chat_id, direction, external_id, kind, text,"
    " phrase_key, author, status, buttons_json, created_at, due_at, attempts)"
    " VALUES (:case_id, :channel, :chat_id, :direction, :external_id, :kind, :text,"
    " :phrase_key, :author, :status, :buttons_json, :created_at, :due_at, :attempts)"
)
_INSERT_MESSAGE = Statement(_INSERT_MESSAGE_SQL + " RETURNING id")
_INSERT_MESSAGES = Statement(_INSERT_MESSAGE_SQL)
_INSERT_EVENT = Statement(
    "INSERT INTO caseevent (case_id, kind, actor, detail, at)"
    " VALUES (:case_id, :kind, :actor, :detail, :at)"
)
_UPDATE_CASE_STEP = Statement(
    'UPDATE "case" SET state = :state, locale = :locale, updated_at = :updated_at,'
    " fields_json = :fields_json, context_json = :context_json WHERE id = :case_id"
)
# A first contact is made; a known one keeps its name and number unless new ones came.
_ENSURE_CONTACT = Statement(
    "INSERT INTO contact (channel, chat_id, display_name, phone, created_at)"
    " VALUES (:channel, :chat_id, :display_name, :phone, :created_at)"
    " ON CONFLICT (channel, chat_id) DO UPDATE SET"
    " display_name = coalesce(excluded.display_name, contact.display_name),"
    " phone = coalesce(excluded.phone, contact.phone)"
    " RETURNING id"
)
_INSERT_CASE = Statement(
    'INSERT INTO "case" (contact_id, channel, chat_id, profile, locale, state, source,'
    " fields_json, context_json, opened_at, updated_at)"
    " VALUES (:contact_id, :channel, :chat_id, :profile, :locale, :state, 'chat',"
    " '{}', '{}', :now, :now) RETURNING id"
)
# Effects only ever set these columns, so one statement serves them all. The flow's value
# wins and NULL keeps the stored one, except for first-time clocks (handed_off_at,
# resolved_at, resolved_by), which are set once and never moved.
_EFFECT_COLUMNS = (
    "category",
    "sla_minutes",
    "sla_due_at",
    "queued_at",
    "closed_at",
    "closed_reason",
    "closed_by",
    "handed_off_at",
    "resolved_at",
    "resolved_by",
)
_UPDATE_CASE_EFFECTS = Statement(
    'UPDATE "case" SET category = coalesce(:category, category),'
    " sla_minutes = coalesce(:sla_minutes, sla_minutes),"
    " sla_due_at = coalesce(:sla_due_at, sla_due_at),"
    " queued_at = coalesce(:queued_at, queued_at),"
    " closed_at = coalesce(:closed_at, closed_at),"
    " closed_reason = coalesce(:closed_reason, closed_reason),"
    " closed_by = coalesce(:closed_by, closed_by),"
    " handed_off_at = coalesce(handed_off_at, :handed_off_at),"
    " resolved_at = coalesce(resolved_at, :resolved_at),"
    " resolved_by = coalesce(resolved_by, :resolved_by)"
    " WHERE id = :case_id"
)


@dataclass(slots=True)
class CaseRow:
    """The columns of an open case the desk needs for one message."""

    id: int
    profile: str
    state: str
    locale: str
    category: str | None
    fields: dict[str, str]
    context: dict[str, Any]
    opened_at: datetime | None = None


def message_exists(conn: Connection, *, channel: str, external_id: str) -> bool:
    """Whether this provider message was already recorded (the idempotency check)."""
    found = _MESSAGE_EXISTS.first(conn, {"channel": channel, "external_id": external_id})
    return found is not None


def get_open_case(
    conn: Connection, *, channel: str, chat_id: str, lock: bool = False
) -> CaseRow | None:
    """The chat's open case; with `lock`, held until commit (a row lock on PostgreSQL)."""
    # SQLite already holds the write lock (BEGIN IMMEDIATE); PostgreSQL needs the row lock.
    query = _OPEN_CASE_LOCKED if lock and conn.dialect.name == "postgresql" else _OPEN_CASE
    row = query.first(conn, {"channel": channel, "chat_id": chat_id})
    if row is None:
        return None
    case_id, profile, state, locale, category, fields_json, context_json, opened_at = row
    return CaseRow(
        id=case_id,
        profile=profile,
        state=state,
        locale=locale,
        category=category,
        fields=json.loads(fields_json),
        context=json.loads(context_json),
        opened_at=read_datetime(opened_at),
    )


def get_last_case_id(conn: Connection, *, channel: str, chat_id: str) -> int | None:
    """The chat's most recent case, open or closed."""
    return conn.execute(
        select(func.max(CASE.c.id)).where(CASE.c.channel == channel, CASE.c.chat_id == chat_id)
    ).scalar()


def ensure_contact(
    conn: Connection,
    *,
    channel: str,
    chat_id: str,
    name: str | None,
    phone: str | None,
    now: datetime,
) -> int:
    """The contact's id, creating the contact on first contact; keeps name/phone fresh."""
    row = _ENSURE_CONTACT.first(
        conn,
        {
            "channel": channel,
            "chat_id": chat_id,
            "display_name": name or None,
            "phone": phone or None,
            "created_at": now,
        },
    )
    return int(row[0])


def open_case(
    conn: Connection,
    *,
    contact_id: int,
    channel: str,
    chat_id: str,
    profile: str,
    locale: str,
    state: str,
    now: datetime,
) -> CaseRow:
    """Open a new case for the chat."""
    params = {
        "contact_id": contact_id,
        "channel": channel,
        "chat_id": chat_id,
        "profile": profile,
        "locale": locale,
        "state": state,
        "now": now,
    }
    case_id = int(_INSERT_CASE.first(conn, params)[0])
    return CaseRow(case_id, profile, state, locale, None, {}, {}, now)


def record_message(
    conn: Connection,
    *,
    case_id: int,
    channel: str,
    chat_id: str,
    direction: str,
    text: str,
    now: datetime,
    external_id: str | None = None,
    kind: str = "text",
    author: str = "client",
) -> int:
    """Add an inbound message (or a note-like record) to the transcript; returns its id."""
    params = _message_params(
        case_id=case_id,
        channel=channel,
        chat_id=chat_id,
        direction=direction,
        external_id=external_id,
        kind=kind,
        text=text,
        author=author,
        created_at=now,
    )
    return int(_INSERT_MESSAGE.first(conn, params)[0])


def add_client_message(
    conn: Connection,
    *,
    case_id: int,
    channel: str,
    chat_id: str,
    text: str,
    now: datetime,
    external_id: str | None,
    kind: str,
) -> None:
    """`record_message` for a client's message nothing refers to (a deferred write)."""
    params = _message_params(
        case_id=case_id,
        channel=channel,
        chat_id=chat_id,
        direction="in",
        external_id=external_id,
        kind=kind,
        text=text,
        author="client",
        created_at=now,
    )
    _INSERT_MESSAGES.defer(conn, params)


def _message_params(**given: Any) -> dict[str, Any]:
    """A transcript row's columns: `given`, and none of a reply's (phrase, status, due...)."""
    return {
        "phrase_key": None,
        "status": None,
        "buttons_json": None,
        "due_at": None,
        "attempts": 0,
        **given,
    }


@dataclass(frozen=True, slots=True)
class OutboundRow:
    """A reply to put in the outbox."""

    text: str
    phrase_key: str | None = None
    buttons: list[dict[str, str]] | None = None
    author: str = "bot"
    kind: str = "text"  # photo or document: an agent's file, kept as the row's Attachment


def enqueue_replies(
    conn: Connection,
    *,
    case_id: int,
    channel: str,
    chat_id: str,
    replies: list[OutboundRow],
    now: datetime,
    status: str = "pending",
) -> None:
    """Write replies as pending outbound messages (the outbox), with the state change.

    A case with no channel to reach the client (a walk-in without a contact) records its
    replies with status "manual": the outbox only ever sends "pending" rows.
    """
    if not replies:
        return
    due_at = now if status == "pending" else None
    _INSERT_MESSAGES.defer_many(
        conn,
        [
            {
                "case_id": case_id,
                "channel": channel,
                "chat_id": chat_id,
                "direction": "out",
                "external_id": None,
                "kind": reply.kind,
                "text": reply.text,
                "phrase_key": reply.phrase_key,
                "author": reply.author,
                "status": status,
                "buttons_json": (
                    json.dumps(reply.buttons, ensure_ascii=False) if reply.buttons else None
                ),
                "created_at": now,
                "due_at": due_at,
                "attempts": 0,
            }
            for reply in replies
        ],
    )


def record_attachment(
    conn: Connection,
    *,
    case_id: int,
    message_id: int,
    kind: str,
    now: datetime,
    url: str | None = None,
    file_id: str | None = None,
    content_type: str | None = None,
    filename: str | None = None,
    size: int | None = None,
    stored_path: str | None = None,
) -> None:
    """Keep a photo, video, document or place with its case."""
    conn.execute(
        insert(ATTACHMENT).values(
            case_id=case_id,
            message_id=message_id,
            kind=kind,
            url=url,
            file_id=file_id,
            content_type=content_type,
            filename=filename,
            size=size,
            stored_path=stored_path,
            created_at=now,
        )
    )


def record_step(
    conn: Connection,
    *,
    case_id: int,
    state: str,
    locale: str,
    fields_json: str,
    context_json: str,
    now: datetime,
) -> None:
    """Write what every flow step changes: state, locale, verified fields, flow memory."""
    _UPDATE_CASE_STEP.defer(
        conn,
        {
            "case_id": case_id,
            "state": state,
            "locale": locale,
            "updated_at": now,
            "fields_json": fields_json,
            "context_json": context_json,
        },
    )


def record_effects(conn: Connection, *, case_id: int, values: Mapping[str, Any]) -> None:
    """Set what flow effects change (category and SLA, queue, resolve and close times).

    `handed_off_at`, `resolved_at` and `resolved_by` are kept when already set: they are
    first-time clocks (docs/agent-desk.md).
    """
    params = dict.fromkeys(_EFFECT_COLUMNS)
    params.update(values, case_id=case_id)
    _UPDATE_CASE_EFFECTS.defer(conn, params)


def release_case(conn: Connection, *, case_id: int) -> None:
    """The case has no owner any more (it went back to the queue or to the bot)."""
    conn.execute(
        update(CASE).where(CASE.c.id == case_id).values(assignee_id=None, assigned_at=None)
    )


@dataclass(frozen=True, slots=True)
class EventRow:
    """One `caseevent` row to append: what happened, who did it, a detail."""

    kind: str
    actor: str
    detail: str | None = None


def record_events(
    conn: Connection, *, case_id: int, events: list[EventRow], now: datetime
) -> None:
    """Append events to the case's log, in one statement."""
    if events:
        _INSERT_EVENT.defer_many(
            conn,
            [
                {
                    "case_id": case_id,
                    "kind": e.kind,
                    "actor": e.actor,
                    "detail": e.detail,
                    "at": now,
                }
                for e in events
            ],
        )


# One survey row per case: the rating arrives first, the comment after it.
_RECORD_SURVEY = Statement(
    "INSERT INTO surveyanswer (case_id, rating, comment, created_at)"
    " VALUES (:case_id, :rating, :comment, :now)"
    " ON CONFLICT (case_id) DO UPDATE SET"
    " rating = coalesce(excluded.rating, surveyanswer.rating),"
    " comment = coalesce(excluded.comment, surveyanswer.comment)"
)


def record_survey(
    conn: Connection, *, case_id: int, rating: int | None, comment: str | None, now: datetime
) -> None:
    """Store the rating, then the comment, on the case's one survey row."""
    _RECORD_SURVEY.defer(
        conn, {"case_id": case_id, "rating": rating, "comment": comment, "now": now}
    )


# --- the outbox: outbound messages whose status is "pending" ---

_PENDING = (MESSAGE.c.status == "pending", MESSAGE.c.direction == "out")
_FAILED = (MESSAGE.c.status == "failed", MESSAGE.c.direction == "out")
# An outbox item: `kind` other than text means an agent's file goes with it
# (db/attachment_queries.py); the retry deadline counts from created_at, or from updated_at
# once an agent sent a failed reply again; WhatsApp's 24-hour window counts from the
# client's last message.
_OUTBOX_ITEM_SQL = (
    "SELECT m.id, m.case_id, m.channel, m.chat_id, m.text, m.kind, m.buttons_json, m.due_at,"
    " m.attempts, m.error, m.created_at, m.updated_at,"
    " (SELECT max(i.created_at) FROM message i WHERE i.case_id = m.case_id"
    " AND i.direction = 'in') FROM message m"
)
_OUTBOX_ITEM_KEYS = (
    "id", "case_id", "channel", "chat_id", "text", "kind", "buttons_json", "due_at",
    "attempts", "last_error", "created_at", "updated_at", "client_wrote_at",
)  # fmt: skip
_DUE_HEADS = Statement(  # constants only: no value is pasted into the SQL
    _OUTBOX_ITEM_SQL  # noqa: S608
    + " JOIN (SELECT min(id) AS id FROM message"
    " WHERE status = 'pending' AND direction = 'out' GROUP BY channel, chat_id) head"
    " ON head.id = m.id WHERE m.due_at <= :now ORDER BY m.id LIMIT :limit"
)
_CHAT_LINE_SQL = (
    _OUTBOX_ITEM_SQL + " WHERE m.status = 'pending' AND m.direction = 'out'"
    " AND m.channel = :channel AND m.chat_id = :chat_id ORDER BY m.id"
)
_CHAT_LINE = Statement(_CHAT_LINE_SQL)
_HEAD_OF_CHAT = Statement(_CHAT_LINE_SQL + " LIMIT 1")


def _outbox_item(row: tuple[Any, ...]) -> dict[str, Any]:
    item = dict(zip(_OUTBOX_ITEM_KEYS, row, strict=True))
    for key in ("due_at", "created_at", "updated_at", "client_wrote_at"):
        item[key] = read_datetime(item[key])
    item["message_id"] = item["id"]
    return item


def list_due_outbox(conn: Connection, *, now: datetime, limit: int) -> list[dict[str, Any]]:
    """The head of each chat's outbox line that is due, oldest first.

    Only a chat's oldest pending reply is eligible, due or not, so a reply being sent (its
    lease pushes due_at ahead) or waiting out a retry holds back the ones written after it:
    replies to one chat leave in order, one at a time. A failed reply is no longer pending,
    so the next one becomes the head. Run for every claim: on the driver (db/driver.py).
    """
    return [_outbox_item(r) for r in _DUE_HEADS.all(conn, {"now": now, "limit": limit})]


def head_of_chat(conn: Connection, *, channel: str, chat_id: str) -> dict[str, Any] | None:
    """The chat's oldest pending reply, due or not (the one that may leave next), or None."""
    row = _HEAD_OF_CHAT.first(conn, {"channel": channel, "chat_id": chat_id})
    return None if row is None else _outbox_item(row)


# Run once per reply sent: straight to the driver, like the receive path's statements.
_CLAIM_OUTBOX = Statement(
    "UPDATE message SET due_at = :until, leased_by = :owner WHERE id = :id AND due_at = :due_at"
    " AND status = 'pending' AND direction = 'out'"
)
_MARK_SENT = Statement(
    "UPDATE message SET status = 'sent', provider_id = :provider_id, error = NULL,"
    " due_at = NULL, updated_at = :now WHERE id = :id"
)


def claim_outbox(
    conn: Connection, *, item_id: int, due_at: datetime, until: datetime, owner: str
) -> bool:
    """Lease one reply so no other dispatcher sends it meanwhile; False if someone else did.

    `owner` names the leasing worker (host:pid), kept in `leased_by`.
    """
    claimed = _CLAIM_OUTBOX.execute(
        conn, {"id": item_id, "due_at": due_at, "until": until, "owner": owner}
    )
    return claimed == 1


def mark_sent(conn: Connection, *, item_id: int, provider_id: str, now: datetime) -> None:
    """The provider accepted the reply: it leaves the outbox with the provider's id."""
    _MARK_SENT.defer(conn, {"id": item_id, "provider_id": provider_id, "now": now})


def mark_retry(
    conn: Connection, *, item_id: int, attempts: int, due_at: datetime, error: str
) -> None:
    """Try again later; the message shows the last error meanwhile.

    updated_at is left alone: on a pending reply it is set only when an agent sent it again,
    and the retry deadline counts from then.
    """
    conn.execute(
        update(MESSAGE)
        .where(MESSAGE.c.id == item_id)
        .values(attempts=attempts, due_at=due_at, error=error)
    )


def mark_failed(conn: Connection, *, item_id: int, error: str, now: datetime) -> None:
    """Give up on a reply: it leaves the outbox and stays visible as failed, with why."""
    conn.execute(
        update(MESSAGE)
        .where(MESSAGE.c.id == item_id)
        .values(status="failed", error=error, due_at=None, updated_at=now)
    )


def requeue_failed(conn: Connection, *, case_id: int, item_id: int, now: datetime) -> str | None:
    """Put a failed reply of this case back in the outbox, due now; returns its old error.

    The retry count, error and provider id start afresh (a late status callback for the old
    provider id must not mark the new attempt), and updated_at = now restarts the retry
    deadline. None when the case has no failed outbound message with that id.
    """
    found = (MESSAGE.c.id == item_id, MESSAGE.c.case_id == case_id, *_FAILED)
    error = conn.execute(select(MESSAGE.c.error).where(*found)).first()
    if error is None:
        return None
    changed = conn.execute(
        update(MESSAGE)
        .where(*found)
        .values(
            status="pending", due_at=now, attempts=0, error=None, provider_id=None, updated_at=now
        )
    ).rowcount
    return (error.error or "") if changed == 1 else None


# Delivery only moves forward; a late "sent" callback never hides "delivered". A failure
# outranks "sent" but not a later "delivered": what the client's phone saw wins.
_DELIVERY_RANK = {"pending": 0, "queued": 1, "sent": 2, "failed": 3, "delivered": 4, "read": 5}


def update_delivery(
    conn: Connection,
    *,
    provider_id: str,
    channels: tuple[str, ...],
    status: str,
    error: str | None,
    now: datetime,
) -> bool:
    """Record a provider's status callback on the outbound message with that provider id.

    Returns False when no such message exists or the status would move it backwards.
    """
    row = conn.execute(
        select(MESSAGE.c.id, MESSAGE.c.status).where(
            MESSAGE.c.provider_id == provider_id,
            MESSAGE.c.direction == "out",
            MESSAGE.c.channel.in_(channels),
        )
    ).first()
    if row is None:
        return False
    if _DELIVERY_RANK.get(status, 0) <= _DELIVERY_RANK.get(row.status or "pending", 0):
        return False
    values: dict[str, Any] = {"status": status, "updated_at": now}
    if status == "failed":
        values["error"] = error
    conn.execute(update(MESSAGE).where(MESSAGE.c.id == row.id).values(**values))
    return True


def list_pending_for_chat(conn: Connection, *, channel: str, chat_id: str) -> list[dict[str, Any]]:
    """A chat's unsent replies in order (the terminal channel delivers them itself)."""
    rows = _CHAT_LINE.all(conn, {"channel": channel, "chat_id": chat_id})
    return [_outbox_item(r) for r in rows]


def count_pending(conn: Connection) -> int:
    """How many replies wait in the outbox."""
    return int(conn.execute(select(func.count()).where(*_PENDING)).scalar_one())


# --- reading cases back (CLI, web chat) ---


def list_cases(conn: Connection, *, case_id: int | None = None) -> list[RowMapping]:
    """Cases, newest last, or one case."""
    query = select(CASE).order_by(CASE.c.id)
    if case_id is not None:
        query = query.where(CASE.c.id == case_id)
    return list(conn.execute(query).mappings())


def list_messages(conn: Connection, *, case_ids: list[int]) -> list[RowMapping]:
    """The transcripts of these cases, in order."""
    query = select(MESSAGE).where(MESSAGE.c.case_id.in_(case_ids)).order_by(MESSAGE.c.id)
    return list(conn.execute(query).mappings())


def list_attachments(conn: Connection, *, case_ids: list[int]) -> list[RowMapping]:
    """The attachments of these cases."""
    query = select(ATTACHMENT).where(ATTACHMENT.c.case_id.in_(case_ids)).order_by(ATTACHMENT.c.id)
    return list(conn.execute(query).mappings())


def list_surveys(conn: Connection, *, case_ids: list[int]) -> list[RowMapping]:
    """The survey answers of these cases."""
    return list(conn.execute(select(SURVEY).where(SURVEY.c.case_id.in_(case_ids))).mappings())


def list_chat_messages_after(
    conn: Connection, *, channel: str, chat_id: str, after_id: int
) -> list[RowMapping]:
    """A chat's messages across its cases, newer than `after_id` (the web chat's stream)."""
    query = (
        select(
            MESSAGE.c.id,
            MESSAGE.c.direction,
            MESSAGE.c.text,
            MESSAGE.c.created_at,
            MESSAGE.c.status,
            MESSAGE.c.buttons_json,
        )
        .join(CASE, CASE.c.id == MESSAGE.c.case_id)  # via the case's chat index
        .where(
            CASE.c.channel == channel,
            CASE.c.chat_id == chat_id,
            MESSAGE.c.id > after_id,
            # only this chat's own lines: a case also records what went to a technician
            # (docs/visits.md), which the client must never see
            MESSAGE.c.chat_id == chat_id,
        )
        .order_by(MESSAGE.c.id)
    )
    return list(conn.execute(query).mappings())


def list_replies_to(
    conn: Connection, *, channel: str, chat_id: str, external_id: str
) -> list[str]:
    """The texts the desk wrote in answer to one client message, up to the client's next one."""
    inbound_id = conn.execute(
        select(MESSAGE.c.id).where(
            MESSAGE.c.channel == channel, MESSAGE.c.external_id == external_id
        )
    ).scalar()
    if inbound_id is None:
        return []
    replies: list[str] = []
    for row in list_chat_messages_after(
        conn, channel=channel, chat_id=chat_id, after_id=inbound_id
    ):
        if row["direction"] != "out":
            break
        replies.append(row["text"])
    return replies


def record_health_check(conn: Connection) -> None:
    """Write one row, so a health check proves the database accepts writes, not only reads."""
    conn.execute(
        text(
            "INSERT INTO jobcursor (name, value) VALUES ('health_check', 1)"
            " ON CONFLICT (name) DO UPDATE SET value = jobcursor.value + 1"
        )
    )


# --- where a queued case stands (the client asks "masih lama?") ---


# The queued cases of the case's desk ahead of it, read from the partial index ix_case_queue
# (only queued cases are in it). It runs on every "masih lama?" and every hand-off reply.
_QUEUE_POSITION = Statement(
    'SELECT (SELECT count(*) FROM "case" c'
    "  WHERE c.state = 'queued' AND c.profile = m.profile AND c.id != m.id"
    "  AND (c.queued_at < m.queued_at OR (c.queued_at = m.queued_at AND c.id < m.id))) + 1"
    ' FROM "case" m'
    " WHERE m.id = :case_id AND m.state = 'queued' AND m.queued_at IS NOT NULL"
)


def queue_position(conn: Connection, *, case_id: int) -> int | None:
    """1 for the case an agent takes next among its desk's queued cases; None if not queued."""
    found = _QUEUE_POSITION.first(conn, {"case_id": case_id})
    return int(found[0]) if found is not None else None
