"""Queries of the agent desk and its clocks: owners, queue, notes, escalations, compensation.

Cooler paths than the receive path, but Core statements all the same; keyword-only,
connection first, the caller owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Connection,
    RowMapping,
    Table,
    and_,
    func,
    insert,
    literal_column,
    or_,
    select,
    update,
)

from db import label_queries
from db.models import AgentSetting, CaseNote, Compensation, Escalation, JobCursor, User
from db.queries import ATTACHMENT, CASE, CASE_EVENT, CONTACT, MESSAGE
from db.visit_queries import ROUTE, awaiting_operations

USER = cast(Table, User.__table__)  # type: ignore[attr-defined]
NOTE = cast(Table, CaseNote.__table__)  # type: ignore[attr-defined]
ESCALATION = cast(Table, Escalation.__table__)  # type: ignore[attr-defined]
COMPENSATION = cast(Table, Compensation.__table__)  # type: ignore[attr-defined]
JOB_CURSOR = cast(Table, JobCursor.__table__)  # type: ignore[attr-defined]
SETTING = cast(Table, AgentSetting.__table__)  # type: ignore[attr-defined]
_PRESENCE = func.coalesce(SETTING.c.presence, "online")

WORKING_STATES = ("with_agent", "escalated")  # what counts against an agent's capacity


def get_case(conn: Connection, *, case_id: int, lock: bool = False) -> RowMapping | None:
    """One case, every column; with `lock`, a row lock on PostgreSQL until commit."""
    query = select(CASE).where(CASE.c.id == case_id)
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return conn.execute(query).mappings().first()


def claim_case(
    conn: Connection, *, case_id: int, user_id: int, from_state: str, to_state: str, now: datetime
) -> bool:
    """Give an unowned case to one user; False when someone else got it first.

    A compare-and-set: the UPDATE only matches while the case has no owner and is still in
    the state it was read in, so of two agents taking it at once exactly one row changes.
    """
    result = conn.execute(
        update(CASE)
        .where(
            CASE.c.id == case_id,
            CASE.c.assignee_id.is_(None),
            CASE.c.closed_at.is_(None),
            CASE.c.state == from_state,
        )
        .values(
            assignee_id=user_id,
            assigned_at=now,
            state=to_state,
            updated_at=now,
            handed_off_at=func.coalesce(CASE.c.handed_off_at, now),
        )
    )
    return result.rowcount == 1


def move_case(
    conn: Connection, *, case_id: int, from_user: int | None, to_user: int, now: datetime
) -> bool:
    """Hand an owned case to another user; False when its owner changed meanwhile."""
    owner = CASE.c.assignee_id.is_(None) if from_user is None else CASE.c.assignee_id == from_user
    result = conn.execute(
        update(CASE)
        .where(CASE.c.id == case_id, owner, CASE.c.closed_at.is_(None))
        .values(assignee_id=to_user, assigned_at=now, updated_at=now)
    )
    return result.rowcount == 1


def update_case(conn: Connection, *, case_id: int, **values: Any) -> None:
    """Set some columns of one case."""
    conn.execute(update(CASE).where(CASE.c.id == case_id).values(**values))


def mark_first_response(conn: Connection, *, case_id: int, user_id: int, now: datetime) -> bool:
    """Start-and-stop of the FRT clock: only the first human reply counts."""
    result = conn.execute(
        update(CASE)
        .where(CASE.c.id == case_id, CASE.c.first_response_at.is_(None))
        .values(first_response_at=now, first_response_by=user_id)
    )
    return result.rowcount == 1


def last_message_id(conn: Connection, *, case_id: int) -> int:
    """The id of the case's newest message."""
    query = select(func.max(MESSAGE.c.id)).where(MESSAGE.c.case_id == case_id)
    return int(conn.execute(query).scalar_one())


def get_user(conn: Connection, *, user_id: int) -> RowMapping | None:
    """One desk user."""
    return conn.execute(select(USER).where(USER.c.id == user_id)).mappings().first()


def user_name(conn: Connection, *, user_id: int | None) -> str | None:
    """A user's name, for messages like "already taken by Sari"."""
    if user_id is None:
        return None
    return conn.execute(select(USER.c.name).where(USER.c.id == user_id)).scalar()


def list_staff(conn: Connection, *, with_load: bool = True) -> list[RowMapping]:
    """Active desk users with how many cases each is working on now (0 without `with_load`)."""
    load: Any = (
        select(func.count())
        .where(CASE.c.assignee_id == USER.c.id, CASE.c.state.in_(WORKING_STATES))
        .correlate(USER)
        .scalar_subquery()
        .label("load")
        if with_load
        else literal_column("0").label("load")
    )
    query = (
        select(
            USER.c.id,
            USER.c.name,
            USER.c.role,
            USER.c.last_seen_at,
            load,
            _PRESENCE.label("presence"),
            SETTING.c.display_name,
        )
        .outerjoin(SETTING, SETTING.c.user_id == USER.c.id)
        .where(USER.c.active.is_(True))
    )
    return list(conn.execute(query.order_by(USER.c.name)).mappings())


_LAST_CLIENT_TEXT = (
    select(MESSAGE.c.text)
    .where(MESSAGE.c.case_id == CASE.c.id, MESSAGE.c.direction == "in")
    .order_by(MESSAGE.c.id.desc())
    .limit(1)
    .correlate(CASE)
    .scalar_subquery()
)
_ESCALATION_STATUS = (
    select(ESCALATION.c.status)
    .where(ESCALATION.c.case_id == CASE.c.id)
    .order_by(ESCALATION.c.id.desc())
    .limit(1)
    .correlate(CASE)
    .scalar_subquery()
)
_FAILED_OUT = (
    select(func.count())
    .where(
        MESSAGE.c.case_id == CASE.c.id,
        MESSAGE.c.direction == "out",
        MESSAGE.c.status == "failed",
    )
    .correlate(CASE)
    .scalar_subquery()
)


# The client's messages since the last one an agent wrote (the console's unread count).
_LAST_AGENT_REPLY = (
    select(func.coalesce(func.max(MESSAGE.c.id), 0))
    .where(
        MESSAGE.c.case_id == CASE.c.id,
        MESSAGE.c.direction == "out",
        MESSAGE.c.author.is_not(None),
        MESSAGE.c.author != "bot",
    )
    .correlate(CASE)
    .scalar_subquery()
)
_UNREAD = (
    select(func.count())
    .where(
        MESSAGE.c.case_id == CASE.c.id,
        MESSAGE.c.direction == "in",
        MESSAGE.c.id > _LAST_AGENT_REPLY,
    )
    .correlate(CASE)
    .scalar_subquery()
)


def _search(term: str) -> Any:
    """Client name, phone, chat id, verified fields (domain/outlet) or any message's text."""
    like = f"%{term.lower()}%"
    in_text = (
        select(MESSAGE.c.id)
        .where(MESSAGE.c.case_id == CASE.c.id, func.lower(MESSAGE.c.text).like(like))
        .correlate(CASE)
        .exists()
    )
    return or_(
        func.lower(func.coalesce(CONTACT.c.display_name, "")).like(like),
        func.lower(func.coalesce(CONTACT.c.phone, "")).like(like),
        func.lower(CASE.c.chat_id).like(like),
        func.lower(CASE.c.fields_json).like(like),
        in_text,
    )


def list_case_rows(
    conn: Connection,
    *,
    queued_only: bool = False,
    assignee_id: int | None = None,
    open_only: bool = True,
    closed_only: bool = False,
    case_id: int | None = None,
    search: str = "",
    filters: dict[str, str] | None = None,
    limit: int = 500,
    case_ids: list[int] | None = None,
) -> list[RowMapping]:
    """Cases with what the queue shows: client, owner, last client words, escalation status.

    `filters` narrows by exact column value: state, category, channel, source, owner
    (a user name, or "none" for waiting cases nobody owns), and label.
    """
    ids = (
        select(CASE.c.id)
        .join(CONTACT, CONTACT.c.id == CASE.c.contact_id)
        .outerjoin(USER, USER.c.id == CASE.c.assignee_id)
    )
    query = (
        select(
            CASE,
            CONTACT.c.display_name.label("contact_name"),
            CONTACT.c.phone.label("contact_phone"),
            USER.c.name.label("assignee_name"),
            _LAST_CLIENT_TEXT.label("last_client_text"),
            _ESCALATION_STATUS.label("escalation_status"),
            _FAILED_OUT.label("failed_messages"),
            _UNREAD.label("unread"),
        )
        .join(CONTACT, CONTACT.c.id == CASE.c.contact_id)
        .outerjoin(USER, USER.c.id == CASE.c.assignee_id)
    )
    if open_only:
        ids = ids.where(CASE.c.closed_at.is_(None))
    if closed_only:
        ids = ids.where(CASE.c.closed_at.is_not(None))
    if search.strip():
        ids = ids.where(_search(search.strip()[:100]))
    for key, value in (filters or {}).items():
        if key == "owner":
            owned = USER.c.name == value
            ids = ids.where(CASE.c.assignee_id.is_(None) if value == "none" else owned)
        elif key == "label":  # #14: free-text labels (db/label_queries.py)
            ids = ids.where(CASE.c.id.in_(label_queries.cases_labelled(value)))
        elif key in ("state", "category", "channel", "source") and value:
            ids = ids.where(CASE.c[key] == value)
    if queued_only:
        ids = ids.where(
            CASE.c.state == "queued", CASE.c.assignee_id.is_(None), ~awaiting_operations()
        )
    if assignee_id is not None:
        ids = ids.where(CASE.c.assignee_id == assignee_id)
    if case_id is not None:
        ids = ids.where(CASE.c.id == case_id)
    if case_ids is not None:  # the live patch: these rows only, if still in the list
        ids = ids.where(CASE.c.id.in_(case_ids))
    if closed_only:  # the newest closed first
        order: tuple[Any, ...] = (CASE.c.closed_at.desc(), CASE.c.id.desc())
    else:  # longest waiting first; cases never queued (still with the bot) after them
        order = (CASE.c.queued_at.is_(None), CASE.c.queued_at, CASE.c.opened_at, CASE.c.id)
    # The page's ids first, then the per-row subqueries for those rows only (not every match).
    page = ids.order_by(*order).limit(limit).subquery()
    query = query.where(CASE.c.id.in_(select(page.c.id))).order_by(*order)
    return list(conn.execute(query).mappings())


_ACTIVE = and_(  # the backlog: handed to people, not yet resolved, not closed
    CASE.c.closed_at.is_(None), CASE.c.resolved_at.is_(None), CASE.c.handed_off_at.is_not(None)
)


def count_views(conn: Connection, *, user_id: int) -> dict[str, int]:
    """How many cases the console's list tabs hold: waiting, mine, all open."""
    open_ = CASE.c.closed_at.is_(None)
    unowned = and_(CASE.c.state == "queued", CASE.c.assignee_id.is_(None))
    # Every count is of open cases and names only columns of ix_case_open_lists (0016): the
    # database counts from that narrow index, not from the wide case rows.
    row = conn.execute(
        select(
            func.count().filter(unowned).label("unowned"),
            func.count().filter(CASE.c.assignee_id == user_id).label("mine"),
            func.count().label("open"),
            func.count()
            .filter(CASE.c.resolved_at.is_(None), CASE.c.handed_off_at.is_not(None))
            .label("backlog"),
        )
        .select_from(CASE)
        .where(open_)
    ).one()
    # ...less the few held for the Operations decision (read from their own small table)
    held = conn.execute(
        select(func.count())
        .select_from(ROUTE)
        .join(CASE, CASE.c.id == ROUTE.c.case_id)
        .where(ROUTE.c.route.is_(None), open_, unowned)
    ).scalar_one()
    mine = and_(open_, CASE.c.assignee_id == user_id)
    unread = conn.execute(
        select(func.coalesce(func.sum(_UNREAD), 0)).select_from(CASE).where(mine)
    ).scalar_one()
    return {
        "waiting": int(row.unowned) - int(held),
        "mine": int(row.mine),
        "open": int(row.open),
        "mine_unread": int(unread),
        "backlog": int(row.backlog),
    }


def count_backlog(conn: Connection) -> int:
    """Active cases: handed to people, not yet resolved, not closed."""
    query = select(func.count()).where(
        CASE.c.closed_at.is_(None),
        CASE.c.resolved_at.is_(None),
        CASE.c.handed_off_at.is_not(None),
    )
    return int(conn.execute(query).scalar_one())


def get_contact(conn: Connection, *, contact_id: int) -> RowMapping | None:
    """The client's contact row."""
    return conn.execute(select(CONTACT).where(CONTACT.c.id == contact_id)).mappings().first()


def get_attachment(conn: Connection, *, attachment_id: int) -> RowMapping | None:
    """One attachment."""
    query = select(ATTACHMENT).where(ATTACHMENT.c.id == attachment_id)
    return conn.execute(query).mappings().first()


def record_note(conn: Connection, *, case_id: int, author: str, text: str, now: datetime) -> None:
    """An internal note; never a message, so never sent."""
    conn.execute(insert(NOTE).values(case_id=case_id, author=author, text=text, created_at=now))


def list_notes(conn: Connection, *, case_id: int) -> list[RowMapping]:
    """The case's internal notes, oldest first."""
    query = select(NOTE).where(NOTE.c.case_id == case_id).order_by(NOTE.c.id)
    return list(conn.execute(query).mappings())


def list_events(conn: Connection, *, case_id: int) -> list[RowMapping]:
    """The case's event log, oldest first."""
    query = select(CASE_EVENT).where(CASE_EVENT.c.case_id == case_id).order_by(CASE_EVENT.c.id)
    return list(conn.execute(query).mappings())


def list_events_after(
    conn: Connection, *, after_id: int, kinds: tuple[str, ...]
) -> list[RowMapping]:
    """Events newer than `after_id` of these kinds (hand-off notifications)."""
    query = (
        select(CASE_EVENT)
        .where(CASE_EVENT.c.id > after_id, CASE_EVENT.c.kind.in_(kinds))
        .order_by(CASE_EVENT.c.id)
    )
    return list(conn.execute(query).mappings())


def read_cursor(conn: Connection, *, name: str) -> int | None:
    """Where the job `name` stopped reading, or None before its first run."""
    value = conn.execute(
        select(JOB_CURSOR.c.value).where(JOB_CURSOR.c.name == name)
    ).scalar_one_or_none()
    return None if value is None else int(value)


def start_cursor(conn: Connection, *, name: str, value: int) -> None:
    """Create the job's cursor (the caller's transaction fails if another worker just did)."""
    conn.execute(insert(JOB_CURSOR).values(name=name, value=value))


def move_cursor(conn: Connection, *, name: str, old: int, new: int) -> bool:
    """Compare-and-set: False when another worker moved the cursor first."""
    moved = conn.execute(
        update(JOB_CURSOR)
        .where(JOB_CURSOR.c.name == name, JOB_CURSOR.c.value == old)
        .values(value=new)
    )
    return moved.rowcount == 1


def last_event_id(conn: Connection) -> int:
    """The newest event's id (0 when there is none)."""
    return int(conn.execute(select(func.coalesce(func.max(CASE_EVENT.c.id), 0))).scalar_one())


def last_activity(conn: Connection) -> tuple[int, int]:
    """Newest message id and newest event id: the console's live pages watch these move."""
    message = conn.execute(select(func.coalesce(func.max(MESSAGE.c.id), 0))).scalar_one()
    return int(message), last_event_id(conn)


def record_escalation(
    conn: Connection,
    *,
    case_id: int,
    area: str,
    outlet: str,
    detail: str,
    filed_by: str,
    now: datetime,
) -> int:
    """File a report for the developer/IT team; returns its id."""
    result = conn.execute(
        insert(ESCALATION).values(
            case_id=case_id,
            area=area,
            outlet=outlet,
            detail=detail,
            status="open",
            filed_by=filed_by,
            created_at=now,
            updated_at=now,
        )
    )
    return int(cast(int, result.inserted_primary_key[0]))  # type: ignore[index]


def get_escalation(conn: Connection, *, escalation_id: int) -> RowMapping | None:
    """One report."""
    query = select(ESCALATION).where(ESCALATION.c.id == escalation_id)
    return conn.execute(query).mappings().first()


def set_escalation_status(
    conn: Connection, *, escalation_id: int, from_status: str, to_status: str, now: datetime
) -> bool:
    """Move a report's status forward; False when it moved meanwhile."""
    result = conn.execute(
        update(ESCALATION)
        .where(ESCALATION.c.id == escalation_id, ESCALATION.c.status == from_status)
        .values(status=to_status, updated_at=now)
    )
    return result.rowcount == 1


def record_post_result(
    conn: Connection, *, escalation_id: int, posted_to: str | None, error: str | None
) -> None:
    """Where the report was posted, and what failed (shown in the console)."""
    conn.execute(
        update(ESCALATION)
        .where(ESCALATION.c.id == escalation_id)
        .values(posted_to=posted_to, post_error=error)
    )


def list_escalations(conn: Connection, *, case_id: int) -> list[RowMapping]:
    """The case's reports, oldest first."""
    query = select(ESCALATION).where(ESCALATION.c.case_id == case_id).order_by(ESCALATION.c.id)
    return list(conn.execute(query).mappings())


def record_compensation(
    conn: Connection,
    *,
    case_id: int,
    product_fault: bool,
    loss: str,
    compensation: str,
    recorded_by: str,
    now: datetime,
) -> None:
    """Bahtera's compensation record for a case."""
    conn.execute(
        insert(COMPENSATION).values(
            case_id=case_id,
            product_fault=product_fault,
            loss=loss,
            compensation=compensation,
            recorded_by=recorded_by,
            created_at=now,
        )
    )


def list_compensations(conn: Connection, *, case_id: int) -> list[RowMapping]:
    """The case's compensation records."""
    query = (
        select(COMPENSATION).where(COMPENSATION.c.case_id == case_id).order_by(COMPENSATION.c.id)
    )
    return list(conn.execute(query).mappings())


# --- the clocks (chatbot/frontdesk/timers.py) ---


def mark_clock(conn: Connection, *, case_id: int, column: str, at: datetime) -> bool:
    """Set a once-only clock mark (frt_missed_at, sla_breached_at); False if already set."""
    target = CASE.c[column]
    result = conn.execute(
        update(CASE).where(CASE.c.id == case_id, target.is_(None)).values({column: at})
    )
    return result.rowcount == 1


def list_frt_due(
    conn: Connection, *, profile: str, handed_off_before: datetime
) -> list[RowMapping]:
    """Handed-off cases with no human reply whose first-response target has passed."""
    query = select(CASE.c.id, CASE.c.handed_off_at).where(
        CASE.c.profile == profile,
        CASE.c.handed_off_at <= handed_off_before,
        CASE.c.first_response_at.is_(None),
        CASE.c.frt_missed_at.is_(None),
        CASE.c.closed_at.is_(None),
    )
    return list(conn.execute(query.order_by(CASE.c.id)).mappings())


def list_sla_due(conn: Connection, *, profile: str, now: datetime) -> list[RowMapping]:
    """Unresolved open cases whose resolution deadline has passed, not yet marked."""
    query = select(CASE.c.id, CASE.c.sla_due_at).where(
        CASE.c.profile == profile,
        CASE.c.sla_due_at <= now,
        CASE.c.resolved_at.is_(None),
        CASE.c.sla_breached_at.is_(None),
        CASE.c.closed_at.is_(None),
    )
    return list(conn.execute(query.order_by(CASE.c.id)).mappings())


def list_silent(
    conn: Connection, *, profile: str, states: tuple[str, ...], quiet_since: datetime
) -> list[int]:
    """Open cases in these states with no activity since `quiet_since`."""
    query = select(CASE.c.id).where(
        CASE.c.profile == profile,
        CASE.c.state.in_(states),
        CASE.c.updated_at <= quiet_since,
        CASE.c.closed_at.is_(None),
    )
    return list(conn.execute(query.order_by(CASE.c.id)).scalars())


def list_unassigned_queue(conn: Connection) -> list[RowMapping]:
    """Queued cases nobody owns, longest waiting first (auto-assignment)."""
    query = (
        select(CASE.c.id, CASE.c.profile, CASE.c.state)
        .where(
            CASE.c.state == "queued",
            CASE.c.assignee_id.is_(None),
            CASE.c.closed_at.is_(None),
            ~awaiting_operations(),
        )
        .order_by(CASE.c.queued_at, CASE.c.id)
    )
    return list(conn.execute(query).mappings())


def find_open_case(conn: Connection, *, channel: str, chat_id: str) -> int | None:
    """The open case of a chat, if any (one per chat)."""
    query = select(CASE.c.id).where(
        CASE.c.channel == channel, CASE.c.chat_id == chat_id, CASE.c.closed_at.is_(None)
    )
    return conn.execute(query).scalar()


def staff_filter(roles: tuple[str, ...], online_since: datetime | None) -> Any:
    """Active users of these roles, seen since `online_since` when given."""
    clauses: list[Any] = [USER.c.active.is_(True), USER.c.role.in_(roles)]
    if online_since is not None:
        clauses.append(and_(USER.c.last_seen_at.is_not(None), USER.c.last_seen_at >= online_since))
    return and_(*clauses)


def list_online(conn: Connection, *, roles: tuple[str, ...], since: datetime) -> list[RowMapping]:
    """Users of these roles seen since `since`, with their current load."""
    load = (
        select(func.count())
        .where(CASE.c.assignee_id == USER.c.id, CASE.c.state.in_(WORKING_STATES))
        .correlate(USER)
        .scalar_subquery()
        .label("load")
    )
    query = (
        select(USER.c.id, USER.c.name, USER.c.role, load)
        .outerjoin(SETTING, SETTING.c.user_id == USER.c.id)
        .where(staff_filter(roles, since), _PRESENCE == "online")  # away/offline: no new cases
        .order_by(USER.c.id)
    )
    return list(conn.execute(query).mappings())


def get_setting(conn: Connection, *, user_id: int) -> RowMapping | None:
    """A user's console settings (display name, language, presence); None if never set."""
    return conn.execute(select(SETTING).where(SETTING.c.user_id == user_id)).mappings().first()


def save_setting(conn: Connection, *, user_id: int, **values: Any) -> None:
    """Change some of a user's console settings (the row is created on first use)."""
    changed = conn.execute(update(SETTING).where(SETTING.c.user_id == user_id).values(**values))
    if changed.rowcount == 0:
        conn.execute(insert(SETTING).values(user_id=user_id, **values))


def agent_typing(conn: Connection, *, channel: str, chat_id: str, since: datetime) -> str | None:
    """The name (display name, else login) of an agent writing to this chat's open case."""
    query = (
        select(func.coalesce(SETTING.c.display_name, USER.c.name))
        .select_from(SETTING)
        .join(USER, USER.c.id == SETTING.c.user_id)
        .join(CASE, CASE.c.id == SETTING.c.typing_case_id)
        .where(
            CASE.c.channel == channel,
            CASE.c.chat_id == chat_id,
            CASE.c.closed_at.is_(None),
            SETTING.c.typing_at >= since,
        )
        .limit(1)
    )
    found = conn.execute(query).scalar()
    return str(found) if found is not None else None


def clear_typing(conn: Connection, *, user_id: int) -> None:
    """The agent sent (or left) the reply they were writing."""
    conn.execute(update(SETTING).where(SETTING.c.user_id == user_id).values(typing_case_id=None))


# --- the console's live feed: what changed between two activity markers ---


def feed_marker(conn: Connection) -> tuple[int, int, int]:
    """Newest message, event and case ids in one query: the live feed's tick."""
    newest = [
        select(func.coalesce(func.max(table.c.id), 0)).scalar_subquery()
        for table in (MESSAGE, CASE_EVENT, CASE)
    ]
    row = conn.execute(select(*newest)).one()
    return int(row[0]), int(row[1]), int(row[2])


@dataclass(frozen=True, slots=True)
class Changes:
    """Cases touched by new messages or events, their owners now, and the events' kinds."""

    cases: frozenset[int]
    owners: dict[int, int | None]
    event_kinds: frozenset[str]
    new_cases: bool = False  # a case opened: the All open count moved
    newest: dict[int, int] = field(default_factory=dict)  # case -> its newest message id
    stirred: frozenset[int] = frozenset()  # cases with events other than a reply
    queued: frozenset[int] = frozenset()  # cases that joined the queue: a client now waiting


def changes_between(
    conn: Connection, *, since: tuple[int, int, int], upto: tuple[int, int, int], limit: int
) -> Changes:
    """What the messages and events with ids in (since, upto] touched (primary-key ranges).

    The markers are (message id, event id, case id), as `feed_marker` reads them.

    At most `limit` cases are looked up; the caller treats more as "everything changed".
    """
    in_messages = (
        select(MESSAGE.c.case_id, func.max(MESSAGE.c.id))
        .where(MESSAGE.c.id > since[0], MESSAGE.c.id <= upto[0], MESSAGE.c.case_id.is_not(None))
        .group_by(MESSAGE.c.case_id)
    )
    newest = {int(c): int(m) for c, m in conn.execute(in_messages.limit(limit))}
    cases = set(newest)
    kinds: set[str] = set()
    stirred: set[int] = set()
    queued: set[int] = set()
    in_events = select(CASE_EVENT.c.case_id, CASE_EVENT.c.kind).where(
        CASE_EVENT.c.id > since[1], CASE_EVENT.c.id <= upto[1]
    )
    for case_id, kind in conn.execute(in_events.distinct().limit(limit * 4)):
        cases.add(int(case_id))
        kinds.add(str(kind))
        if kind != "replied":
            stirred.add(int(case_id))
        if kind == "queued":
            queued.add(int(case_id))
    owners: dict[int, int | None] = {}
    if len(cases) < limit:
        query = select(CASE.c.id, CASE.c.assignee_id).where(CASE.c.id.in_(sorted(cases)))
        owners = {int(i): a for i, a in conn.execute(query)}
    return Changes(
        frozenset(cases),
        owners,
        frozenset(kinds),
        upto[2] > since[2],
        newest,
        frozenset(stirred),
        frozenset(queued),
    )
