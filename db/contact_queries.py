"""Contacts as returning clients see them: verified fields, earlier cases, and the calendar.

Keyword-only queries on SQLAlchemy Core, connection first; the caller owns the transaction.
They run once per case (at its opening, when a field is verified), never per message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import cast

from sqlalchemy import Connection, RowMapping, Table, delete, insert, or_, select, update

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


def _same_client(contact_id: int) -> object:
    """The contact itself and, when it has a phone, every contact with that phone."""
    phone = select(CONTACT.c.phone).where(CONTACT.c.id == contact_id).scalar_subquery()
    return or_(CONTACT.c.id == contact_id, CONTACT.c.phone == phone)


def list_known_fields(conn: Connection, *, contact_id: int) -> dict[str, KnownField]:
    """The newest verified value per field key, across the client's channels (by phone)."""
    rows = conn.execute(
        select(CONTACT_FIELD.c.key, CONTACT_FIELD.c.value, CONTACT_FIELD.c.verified_at)
        .join(CONTACT, CONTACT.c.id == CONTACT_FIELD.c.contact_id)
        .where(_same_client(contact_id))  # type: ignore[arg-type]
        .order_by(CONTACT_FIELD.c.verified_at, CONTACT_FIELD.c.id)
    )
    known: dict[str, KnownField] = {}
    for key, value, verified_at in rows:  # oldest first: the newest per key stays
        at = as_utc(verified_at)
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
    for key, value in fields.items():
        changed = conn.execute(
            update(CONTACT_FIELD)
            .where(CONTACT_FIELD.c.contact_id == contact_id, CONTACT_FIELD.c.key == key)
            .values(value=value, case_id=case_id, verified_at=now)
        ).rowcount
        if not changed:
            conn.execute(
                insert(CONTACT_FIELD).values(
                    contact_id=contact_id, key=key, value=value, case_id=case_id, verified_at=now
                )
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
    return conn.execute(
        select(CONTACT.c.id).where(CONTACT.c.channel == channel, CONTACT.c.chat_id == chat_id)
    ).scalar()
