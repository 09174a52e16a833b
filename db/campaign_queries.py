"""Campaigns, their recipients and the opt-out register, in SQLAlchemy Core.

Sending runs at hundreds of recipients a second, so claims and results are a few Core
statements each, like the outbox's (db/queries.py). The caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Connection,
    RowMapping,
    Table,
    bindparam,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)

from db.driver import Statement
from db.models import Campaign, CampaignRecipient, Case, Contact, Message, OptOut, User

CAMPAIGN = cast(Table, Campaign.__table__)  # type: ignore[attr-defined]
RECIPIENT = cast(Table, CampaignRecipient.__table__)  # type: ignore[attr-defined]
OPTOUT = cast(Table, OptOut.__table__)  # type: ignore[attr-defined]
CONTACT = cast(Table, Contact.__table__)  # type: ignore[attr-defined]

# What a delivery status may overwrite: a later status never goes back to an earlier one.
_DELIVERY_RANK = {"pending": 0, "sent": 1, "delivered": 2, "read": 3, "failed": 3}


def insert_campaign(conn: Connection, **values: Any) -> int:
    """A new campaign; returns its id."""
    return int(
        conn.execute(insert(CAMPAIGN).values(**values).returning(CAMPAIGN.c.id)).scalar_one()
    )


def insert_recipients(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """The audience's recipients, in chunks (one statement per thousand rows)."""
    for start in range(0, len(rows), 1000):
        conn.execute(insert(RECIPIENT), rows[start : start + 1000])


def get_campaign(conn: Connection, *, campaign_id: int) -> RowMapping | None:
    """One campaign, or None."""
    return conn.execute(select(CAMPAIGN).where(CAMPAIGN.c.id == campaign_id)).mappings().first()


def list_campaigns(conn: Connection) -> list[RowMapping]:
    """Every campaign, newest first."""
    return list(conn.execute(select(CAMPAIGN).order_by(CAMPAIGN.c.id.desc())).mappings())


def set_state(
    conn: Connection,
    *,
    campaign_id: int,
    state: str,
    from_states: Iterable[str],
    now: datetime,
    start_at: datetime | None = None,
) -> bool:
    """Move a campaign to `state` if it is in one of `from_states`; False otherwise."""
    values: dict[str, Any] = {"state": state, "updated_at": now}
    if start_at is not None:
        values["start_at"] = start_at
    changed = conn.execute(
        update(CAMPAIGN)
        .where(CAMPAIGN.c.id == campaign_id, CAMPAIGN.c.state.in_(list(from_states)))
        .values(**values)
    ).rowcount
    return bool(changed)


def skip_pending(conn: Connection, *, campaign_id: int, now: datetime) -> int:
    """A cancelled campaign's unsent recipients become `skipped`; returns how many."""
    return int(
        conn.execute(
            update(RECIPIENT)
            .where(RECIPIENT.c.campaign_id == campaign_id, RECIPIENT.c.state == "pending")
            .values(state="skipped", due_at=None, updated_at=now)
        ).rowcount
    )


def counts(conn: Connection, *, campaign_id: int) -> dict[str, int]:
    """Recipients by milestone: the numbers `loket campaigns status` reports."""
    r = RECIPIENT.c
    total = func.count()

    def when(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    row = (
        conn.execute(
            select(
                total.label("recipients"),
                when(r.state == "opted_out").label("opted_out"),
                when(r.state == "pending").label("pending"),
                when(r.state == "skipped").label("skipped"),
                when(r.sent_at.is_not(None)).label("sent"),
                when(r.delivered_at.is_not(None)).label("delivered"),
                when(r.read_at.is_not(None)).label("read"),
                when(r.state == "failed").label("failed"),
                when(r.replied_at.is_not(None)).label("replied"),
            ).where(r.campaign_id == campaign_id)
        )
        .mappings()
        .one()
    )
    return {key: int(value or 0) for key, value in row.items()}


def failures_by_code(conn: Connection, *, campaign_id: int) -> list[tuple[int | None, int]]:
    """Failed recipients per error code, most frequent first."""
    rows = conn.execute(
        select(RECIPIENT.c.error_code, func.count())
        .where(RECIPIENT.c.campaign_id == campaign_id, RECIPIENT.c.state == "failed")
        .group_by(RECIPIENT.c.error_code)
        .order_by(func.count().desc())
    )
    return [(code, int(n)) for code, n in rows]


def active_campaigns(conn: Connection) -> list[RowMapping]:
    """Campaigns that are running or waiting for their start time."""
    return list(
        conn.execute(
            select(CAMPAIGN)
            .where(CAMPAIGN.c.state.in_(["scheduled", "running"]))
            .order_by(CAMPAIGN.c.id)
        ).mappings()
    )


def unique_sent_since(conn: Connection, *, channel: str, since: datetime) -> int:
    """Distinct numbers sent a campaign message on this channel since then (the tier cap)."""
    return int(
        conn.execute(
            select(func.count(func.distinct(RECIPIENT.c.chat_id))).where(
                RECIPIENT.c.channel == channel, RECIPIENT.c.sent_at >= since
            )
        ).scalar()
        or 0
    )


def has_unfinished(conn: Connection, *, campaign_id: int) -> bool:
    """Whether any recipient is still pending (due, leased or waiting for a retry)."""
    row = conn.execute(
        select(RECIPIENT.c.id)
        .where(RECIPIENT.c.campaign_id == campaign_id, RECIPIENT.c.state == "pending")
        .limit(1)
    ).first()
    return row is not None


def claim_recipients(
    conn: Connection, *, campaign_id: int, now: datetime, until: datetime, limit: int
) -> list[RowMapping]:
    """Lease up to `limit` due recipients until `until`; the opted-out ones are set aside.

    A recipient whose number is in the opt-out register becomes `opted_out` instead of
    being leased. On PostgreSQL the rows are locked with SKIP LOCKED, so dispatchers on
    several hosts take different recipients; SQLite's write lock serialises the claim.
    """
    r = RECIPIENT.c
    due = or_(r.due_at.is_(None), r.due_at <= now)
    query = (
        select(r.id, r.chat_id, r.name, r.variables_json, r.attempts, OPTOUT.c.address)
        .outerjoin(OPTOUT, OPTOUT.c.address == r.chat_id)
        .where(r.campaign_id == campaign_id, r.state == "pending", due)
        .order_by(r.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(of=RECIPIENT, skip_locked=True)
    rows = list(conn.execute(query).mappings())
    opted = [row["id"] for row in rows if row["address"] is not None]
    if opted:
        conn.execute(
            update(RECIPIENT)
            .where(r.id.in_(opted))
            .values(state="opted_out", due_at=None, updated_at=now)
        )
    wanted = [row for row in rows if row["address"] is None]
    if not wanted:
        return []
    leased = set(
        conn.execute(
            update(RECIPIENT)
            .where(r.id.in_([row["id"] for row in wanted]), r.state == "pending", due)
            .values(due_at=until, attempts=r.attempts + 1)
            .returning(r.id)
        ).scalars()
    )
    return [row for row in wanted if row["id"] in leased]


def mark_sent(conn: Connection, *, recipient_id: int, provider_id: str, now: datetime) -> None:
    """The provider accepted the message."""
    mark_sent_many(conn, sent=[(recipient_id, provider_id)], now=now)


def mark_sent_many(conn: Connection, *, sent: list[tuple[int, str]], now: datetime) -> None:
    """The provider accepted these messages: (recipient id, provider id) each, one statement."""
    if not sent:
        return
    r = RECIPIENT.c
    conn.execute(
        update(RECIPIENT)
        .where(r.id == bindparam("b_recipient"), r.state == "pending")
        .values(
            state="sent",
            provider_id=bindparam("b_provider"),
            sent_at=now,
            due_at=None,
            updated_at=now,
        ),
        [{"b_recipient": rid, "b_provider": pid} for rid, pid in sent],
    )


def mark_retry(conn: Connection, *, recipient_id: int, due_at: datetime, error: str) -> None:
    """Try this recipient again at `due_at`."""
    conn.execute(
        update(RECIPIENT)
        .where(RECIPIENT.c.id == recipient_id, RECIPIENT.c.state == "pending")
        .values(due_at=due_at, error=error)
    )


def mark_failed(
    conn: Connection,
    *,
    recipient_id: int,
    code: int | None,
    error: str,
    now: datetime,
    state: str = "failed",
) -> None:
    """Give up on this recipient (`failed`, or `opted_out` when the user stopped marketing)."""
    conn.execute(
        update(RECIPIENT)
        .where(RECIPIENT.c.id == recipient_id)
        .values(state=state, error_code=code, error=error, due_at=None, updated_at=now)
    )


def update_delivery(
    conn: Connection,
    *,
    provider_id: str,
    status: str,
    code: int | None,
    error: str | None,
    now: datetime,
) -> RowMapping | None:
    """A status callback on a campaign message: the recipient row, or None if none matches.

    Milestones are kept once (delivered_at, read_at); a failure after sending marks the
    recipient failed with the code. A status never moves a replied or opted-out row.
    """
    row = (
        conn.execute(
            select(RECIPIENT.c.id, RECIPIENT.c.state, RECIPIENT.c.chat_id, RECIPIENT.c.channel)
            .where(RECIPIENT.c.provider_id == provider_id)
            .limit(1)
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    values: dict[str, Any] = {"updated_at": now}
    if status in ("delivered", "read"):
        values["delivered_at"] = func.coalesce(RECIPIENT.c.delivered_at, now)
    if status == "read":
        values["read_at"] = func.coalesce(RECIPIENT.c.read_at, now)
    if status == "failed":
        values.update(error_code=code, error=error)
    rank = _DELIVERY_RANK.get(status)
    if rank is not None and rank > _DELIVERY_RANK.get(row["state"], 99):
        values["state"] = status
    conn.execute(update(RECIPIENT).where(RECIPIENT.c.id == row["id"]).values(**values))
    return row


# Asked for every message that opens a case, so it goes straight to the driver (db/driver.py).
_REPLY_TARGET = Statement(
    "SELECT r.id, r.campaign_id, c.profile FROM campaignrecipient r"
    " JOIN campaign c ON c.id = r.campaign_id"
    " WHERE r.channel = :channel AND r.chat_id = :chat_id AND r.sent_at >= :since"
    " AND r.case_id IS NULL AND r.state IN ('sent', 'delivered', 'read')"
    " ORDER BY r.sent_at DESC LIMIT 1"
)


def reply_target(
    conn: Connection, *, channel: str, chat_id: str, since: datetime
) -> dict[str, Any] | None:
    """The latest campaign message sent to this chat since then that has no reply case yet."""
    row = _REPLY_TARGET.first(conn, {"channel": channel, "chat_id": chat_id, "since": since})
    if row is None:
        return None
    return {"id": int(row[0]), "campaign_id": int(row[1]), "profile": row[2]}


def mark_replied(conn: Connection, *, recipient_id: int, case_id: int, now: datetime) -> None:
    """The recipient wrote back; their case is tied to the campaign."""
    conn.execute(
        update(RECIPIENT)
        .where(RECIPIENT.c.id == recipient_id)
        .values(
            state="replied",
            case_id=case_id,
            replied_at=now,
            delivered_at=func.coalesce(RECIPIENT.c.delivered_at, now),
            updated_at=now,
        )
    )


def cases_of_campaign(campaign_id: int) -> Any:
    """A subquery of the case ids that replies to this campaign opened."""
    return select(RECIPIENT.c.case_id).where(
        RECIPIENT.c.campaign_id == campaign_id, RECIPIENT.c.case_id.is_not(None)
    )


def campaigns_of_cases(conn: Connection, *, case_ids: list[int]) -> dict[int, int]:
    """Which campaign each of these cases answered (cases not in the map answered none)."""
    if not case_ids:
        return {}
    rows = conn.execute(
        select(RECIPIENT.c.case_id, RECIPIENT.c.campaign_id).where(
            RECIPIENT.c.case_id.in_(case_ids)
        )
    )
    return {int(case_id): int(campaign_id) for case_id, campaign_id in rows}


def user_names(conn: Connection) -> list[tuple[int, str]]:
    """Desk users' ids and names."""
    user = cast(Table, User.__table__)  # type: ignore[attr-defined]
    return [(int(i), str(n)) for i, n in conn.execute(select(user.c.id, user.c.name))]


def telegram_chats(conn: Connection, *, phones: list[str]) -> dict[str, str]:
    """Telegram chats that shared one of these phone numbers with the bot: phone -> chat id."""
    found: dict[str, str] = {}
    for start in range(0, len(phones), 500):
        chunk = phones[start : start + 500]
        rows = conn.execute(
            select(CONTACT.c.phone, CONTACT.c.chat_id).where(
                CONTACT.c.channel == "telegram", CONTACT.c.phone.in_(chunk)
            )
        )
        found.update({str(phone): str(chat_id) for phone, chat_id in rows})
    return found


def work_per_agent(conn: Connection, *, campaign_id: int) -> list[RowMapping]:
    """The team leader's view of a campaign's reply cases, per assigned agent (None: queued).

    contacted: reply cases the agent holds or held; reached: those the agent answered;
    replied: those where the customer wrote again after the agent's first answer;
    open: those not closed yet (follow-ups still to do).
    """
    case_table = cast(Table, Case.__table__)  # type: ignore[attr-defined]
    message = cast(Table, Message.__table__)  # type: ignore[attr-defined]
    c = case_table.c
    wrote_back = (
        select(message.c.id)
        .where(
            message.c.case_id == c.id,
            message.c.direction == "in",
            message.c.created_at > c.first_response_at,
        )
        .exists()
    )

    def count(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    query = (
        select(
            c.assignee_id,
            func.count().label("contacted"),
            count(c.first_response_by == c.assignee_id).label("reached"),
            count(wrote_back).label("replied"),
            count(c.closed_at.is_(None)).label("open"),
        )
        .select_from(RECIPIENT.join(case_table, case_table.c.id == RECIPIENT.c.case_id))
        .where(RECIPIENT.c.campaign_id == campaign_id)
        .group_by(c.assignee_id)
    )
    return list(conn.execute(query).mappings())


# --- the opt-out register ---


def opt_out(
    conn: Connection, *, address: str, channel: str, reason: str, actor: str, now: datetime
) -> bool:
    """Put a number in the register; False if it was there already."""
    if is_opted_out(conn, address=address):
        return False
    conn.execute(
        insert(OPTOUT).values(
            address=address, channel=channel, reason=reason[:64], actor=actor[:64], created_at=now
        )
    )
    return True


def opt_in(conn: Connection, *, address: str) -> bool:
    """Take a number out of the register; False if it was not there."""
    return bool(conn.execute(delete(OPTOUT).where(OPTOUT.c.address == address)).rowcount)


def is_opted_out(conn: Connection, *, address: str) -> bool:
    """Whether the number is in the register."""
    row = conn.execute(select(OPTOUT.c.address).where(OPTOUT.c.address == address)).first()
    return row is not None


def opted_out_among(conn: Connection, *, addresses: list[str]) -> set[str]:
    """Which of these numbers are in the register."""
    found: set[str] = set()
    for start in range(0, len(addresses), 500):
        chunk = addresses[start : start + 500]
        found.update(
            conn.execute(select(OPTOUT.c.address).where(OPTOUT.c.address.in_(chunk))).scalars()
        )
    return found


def list_opt_outs(conn: Connection) -> list[RowMapping]:
    """The register, newest first."""
    return list(conn.execute(select(OPTOUT).order_by(OPTOUT.c.created_at.desc())).mappings())


def recipients_for(conn: Connection, *, campaign_id: int) -> list[RowMapping]:
    """A campaign's recipients, in audience order (not the sending path)."""
    query = select(RECIPIENT).where(RECIPIENT.c.campaign_id == campaign_id)
    return list(conn.execute(query.order_by(RECIPIENT.c.id)).mappings())
