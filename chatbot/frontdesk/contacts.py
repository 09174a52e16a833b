"""Returning clients: their verified fields reused in a new case, and their earlier cases.

A contact is one channel identity (channel + chat id); contacts that share a phone number
are one client. Only numbers the channel vouches for count (WhatsApp and SMS senders, a
Telegram client sharing their own contact): a number typed in a field, or someone else's
contact card, could otherwise borrow another client's data.

Fields verified within the profile's `verified_fields_valid_days` are reused as they are;
older ones are shown to the client to confirm (flows/front_desk.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from db import contact_queries as cq
from db.engine import as_utc
from flows import guards
from flows.profiles.schema import Profile

HISTORY_LIMIT = 10  # earlier cases shown beside a case
SUMMARY_LIMIT = 160  # characters of an earlier case's story


def prefill(
    conn: Connection, *, contact_id: int, profile: Profile, now: datetime
) -> tuple[dict[str, str], dict[str, Any]]:
    """A new case's fields and context from what the client verified before.

    Returns the fields reused as they are, and a context holding the older ones under
    "known" for the flow to confirm.
    """
    remembered = {f.key for f in profile.fields if f.is_remembered}
    if not remembered:
        return {}, {}
    fresh_since = now - timedelta(days=profile.verified_fields_valid_days)
    fields: dict[str, str] = {}
    stale: dict[str, str] = {}
    for key, known in cq.list_known_fields(conn, contact_id=contact_id).items():
        if key not in remembered:
            continue
        if known.verified_at > fresh_since:
            fields[key] = known.value
        else:
            stale[key] = known.value
    ordered = {f.key: stale[f.key] for f in profile.fields if f.key in stale}
    return fields, ({"known": ordered} if ordered else {})


def remember(
    conn: Connection,
    *,
    channel: str,
    chat_id: str,
    case_id: int,
    profile: Profile,
    before: Mapping[str, str],
    after: Mapping[str, str],
    own_phone: str | None,
    now: datetime,
) -> None:
    """Keep on the contact the fields this step verified, and the client's own number.

    `own_phone` is the sender's number as the channel vouches for it (a Telegram client
    sharing their own contact), never a number the client typed.
    """
    remembered = {f.key for f in profile.fields if f.is_remembered}
    changed = {k: v for k, v in after.items() if k in remembered and before.get(k) != v}
    phone = guards.clean_phone(own_phone) if own_phone else None
    if not changed and phone is None:
        return
    contact_id = cq.get_contact_id(conn, channel=channel, chat_id=chat_id)
    if contact_id is None:  # a case opened by hand without a contact
        return
    if changed:
        cq.record_fields(conn, contact_id=contact_id, case_id=case_id, fields=changed, now=now)
    if phone is not None:
        cq.set_phone_if_missing(conn, contact_id=contact_id, phone=phone)


@dataclass(frozen=True, slots=True)
class EarlierCase:
    """One of the client's earlier cases, as the agent console lists it."""

    id: int
    channel: str
    opened_at: datetime | None
    closed_at: datetime | None
    category: str | None
    outcome: str  # the closing reason, or the state while it is open
    resolved_by: str | None
    rating: int | None
    summary: str


@dataclass(frozen=True, slots=True)
class ContactHistory:
    """Who the client is across channels, what they verified and their earlier cases."""

    contact_id: int
    channel: str
    phone: str | None
    fields: dict[str, cq.KnownField]
    cases: list[EarlierCase]


def history(
    conn: Connection, *, case_id: int, limit: int = HISTORY_LIMIT
) -> ContactHistory | None:
    """The client of a case: their verified fields and their cases before this one.

    None for a case without a contact row (never, for cases the desk opened).
    """
    contact = cq.get_contact_of_case(conn, case_id=case_id)
    if contact is None:
        return None
    rows = cq.list_contact_cases(
        conn, contact_id=contact["id"], before_case_id=case_id, limit=limit
    )
    cases = [
        EarlierCase(
            id=r["id"],
            channel=r["channel"],
            opened_at=as_utc(r["opened_at"]),
            closed_at=as_utc(r["closed_at"]),
            category=r["category"],
            outcome=r["closed_reason"] or r["state"],
            resolved_by=r["resolved_by"],
            rating=r["rating"],
            summary=str(json.loads(r["context_json"] or "{}").get("story") or "")[:SUMMARY_LIMIT],
        )
        for r in rows
    ]
    return ContactHistory(
        contact_id=contact["id"],
        channel=contact["channel"],
        phone=contact["phone"],
        fields=cq.list_known_fields(conn, contact_id=contact["id"]),
        cases=cases,
    )
