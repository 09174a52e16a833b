"""Contacts as returning clients see them: verified fields, earlier cases, and the calendar.

Keyword-only queries, connection first; the caller owns the transaction. The three the
receive path runs (a case's opening, a verified field) go straight to the driver
(db/driver.py), as the other receive-path statements do; the rest is Core.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import cast

from sqlalchemy import Connection, RowMapping, Table, delete, insert, or_, select, update

from db.driver import Statement, read_datetime
from db.engine import as_utc
from db.models import CalendarDate, ContactField
from db.queries import CASE, CONTACT, SURVEY

CONTACT_FIELD = cast(Table, ContactField.__table__)  # type: ignore[attr-defined]
CALENDAR_DATE = cast(Table, CalendarDate.__table__)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class KnownField:
    """A field value the client gave or confirmed before, and when."""

    key: str
    value: str
    verified_at: datetime


_CONTACT_ID = Statement("SELECT id FROM contact WHERE channel = :channel AND chat_id = :chat_id")
# The contact itself and, when it has a phone, every contact with that phone (NULL never
# equals NULL, so contacts without a phone stay apart).
_KNOWN_FIELDS = Statement(
    "SELECT f.key, f.value, f.verified_at FROM contactfield f"
    " JOIN contact c ON c.id = f.contact_id"
    " WHERE c.id = :contact_id OR c.phone = (SELECT phone FROM contact WHERE id = :contact_id)"
    " ORDER BY f.verified_at, f.id"
)
_RECORD_FIELD = Statement(
    "INSERT INTO contactfield (contact_id, key, value, case_id, verified_at)"
    " VALUES (:contact_id, :key, :value, :case_id, :now)"
    " ON CONFLICT (contact_id, key) DO UPDATE SET value = excluded.value,"
    " case_id = excluded.case_id, verified_at = excluded.verified_at"
)


def _same_client(contact_id: int) -> object:
    """The contact itself and, when it has a phone, every contact with that phone."""
    phone = select(CONTACT.c.phone).where(CONTACT.c.id == contact_id).scalar_subquery()
    return or_(CONTACT.c.id == contact_id, CONTACT.c.phone == phone)


def list_known_fields(conn: Connection, *, contact_id: int) -> dict[str, KnownField]:
    """The newest verified value per field key, across the client's channels (by phone)."""
    known: dict[str, KnownField] = {}
    # oldest first: the newest per key stays
    for key, value, verified_at in _KNOWN_FIELDS.all(conn, {"contact_id": contact_id}):
        at = as_utc(read_datetime(verified_at))
        assert at is not None
        known[key] = KnownField(key, value, at)
    return known


def record_fields(
    conn: Connection,
    *,
    contact_id: int,
    case_id: int | None,
    fields: Mapping[str, str],
    now: datetime,
) -> None:
    """Keep fields as verified now on the contact (one row per key, updated in place)."""
    _RECORD_FIELD.defer_many(
        conn,
        [
            {"contact_id": contact_id, "key": key, "value": value, "case_id": case_id, "now": now}
            for key, value in fields.items()
        ],
    )


def get_contact_of_case(conn: Connection, *, case_id: int) -> RowMapping | None:
    """The contact row (id, channel, chat_id, display_name, phone) of a case."""
    return (
        conn.execute(
            select(
                CONTACT.c.id,
                CONTACT.c.channel,
                CONTACT.c.chat_id,
                CONTACT.c.display_name,
                CONTACT.c.phone,
            )
            .join(CASE, CASE.c.contact_id == CONTACT.c.id)
            .where(CASE.c.id == case_id)
        )
        .mappings()
        .first()
    )


def set_phone_if_missing(conn: Connection, *, contact_id: int, phone: str) -> None:
    """Give a contact the phone it shared (a Telegram contact), unless it has one."""
    conn.execute(
        update(CONTACT)
        .where(CONTACT.c.id == contact_id, CONTACT.c.phone.is_(None))
        .values(phone=phone)
    )


def list_contact_cases(
    conn: Connection, *, contact_id: int, before_case_id: int | None, limit: int
) -> list[RowMapping]:
    """The client's earlier cases on any of their channels, newest first."""
    query = (
        select(
            CASE.c.id,
            CASE.c.channel,
            CASE.c.state,
            CASE.c.category,
            CASE.c.opened_at,
            CASE.c.closed_at,
            CASE.c.closed_reason,
            CASE.c.resolved_by,
            CASE.c.context_json,
            SURVEY.c.rating,
        )
        .select_from(
            CASE.join(CONTACT, CONTACT.c.id == CASE.c.contact_id).outerjoin(
                SURVEY, SURVEY.c.case_id == CASE.c.id
            )
        )
        .where(_same_client(contact_id))  # type: ignore[arg-type]
        .order_by(CASE.c.id.desc())
        .limit(limit)
    )
    if before_case_id is not None:
        query = query.where(CASE.c.id < before_case_id)
    return list(conn.execute(query).mappings())


# --- the office calendar's admin dates (chatbot/frontdesk/office_hours.py) ---


def list_calendar_dates(conn: Connection, *, profile: str | None = None) -> list[RowMapping]:
    """The admin's dates, by profile and day."""
    query = select(CALENDAR_DATE).order_by(CALENDAR_DATE.c.profile, CALENDAR_DATE.c.day)
    if profile is not None:
        query = query.where(CALENDAR_DATE.c.profile == profile)
    return list(conn.execute(query).mappings())


def set_calendar_date(
    conn: Connection,
    *,
    profile: str,
    day: date,
    is_open: bool,
    note: str,
    author: str,
    now: datetime,
) -> None:
    """Mark a day closed or open for a profile, replacing what was set for that day."""
    conn.execute(
        delete(CALENDAR_DATE).where(CALENDAR_DATE.c.profile == profile, CALENDAR_DATE.c.day == day)
    )
    conn.execute(
        insert(CALENDAR_DATE).values(
            profile=profile, day=day, is_open=is_open, note=note, author=author, created_at=now
        )
    )


def delete_calendar_date(conn: Connection, *, profile: str, day: date) -> bool:
    """Forget an admin date (the calendar's own rule applies again); False if none was set."""
    result = conn.execute(
        delete(CALENDAR_DATE).where(CALENDAR_DATE.c.profile == profile, CALENDAR_DATE.c.day == day)
    )
    return result.rowcount > 0


def get_contact_id(conn: Connection, *, channel: str, chat_id: str) -> int | None:
    """The id of the contact behind a chat, if the desk has seen it."""
    row = _CONTACT_ID.first(conn, {"channel": channel, "chat_id": chat_id})
    return int(row[0]) if row is not None else None
