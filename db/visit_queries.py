"""Queries of Operations routing and technician visits (docs/visits.md).

Core statements, keyword-only, connection first; the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, RowMapping, Table, exists, insert, select, update

from db.models import CaseRoute, RemoteStep, Technician, Visit, VisitEvent
from db.queries import CASE, CONTACT

ROUTE = cast(Table, CaseRoute.__table__)  # type: ignore[attr-defined]
REMOTE_STEP = cast(Table, RemoteStep.__table__)  # type: ignore[attr-defined]
TECHNICIAN = cast(Table, Technician.__table__)  # type: ignore[attr-defined]
VISIT = cast(Table, Visit.__table__)  # type: ignore[attr-defined]
VISIT_EVENT = cast(Table, VisitEvent.__table__)  # type: ignore[attr-defined]

OPEN_VISIT_STATUSES = ("scheduled", "on_the_way", "arrived")


# --- routes ---


def awaiting_operations() -> Any:
    """Cases waiting for the Operations decision: kept out of the agents' queue until then."""
    return exists().where(ROUTE.c.case_id == CASE.c.id, ROUTE.c.route.is_(None))


def record_suggestion(
    conn: Connection, *, case_id: int, suggested: str, reasons: str, now: datetime
) -> None:
    """The bot's suggestion when a case reaches Operations; a second arrival keeps the first."""
    if conn.execute(select(ROUTE.c.case_id).where(ROUTE.c.case_id == case_id)).first():
        return
    conn.execute(
        insert(ROUTE).values(case_id=case_id, suggested=suggested, reasons=reasons, created_at=now)
    )


def get_route(conn: Connection, *, case_id: int) -> RowMapping | None:
    """The case's route row, or None when it never reached Operations."""
    return conn.execute(select(ROUTE).where(ROUTE.c.case_id == case_id)).mappings().first()


def decide_route(
    conn: Connection, *, case_id: int, route: str, decided_by: str, now: datetime
) -> bool:
    """Set the route once (compare-and-set); False when it was decided already."""
    result = conn.execute(
        update(ROUTE)
        .where(ROUTE.c.case_id == case_id, ROUTE.c.route.is_(None))
        .values(route=route, decided_by=decided_by, decided_at=now)
    )
    return result.rowcount == 1


def list_undecided(conn: Connection) -> list[RowMapping]:
    """Open cases waiting for the Operations decision, oldest first."""
    query = (
        select(
            ROUTE,
            CASE.c.state,
            CASE.c.fields_json,
            CASE.c.context_json,
            CASE.c.assignee_id,
            CASE.c.category,
            CONTACT.c.display_name.label("contact_name"),
        )
        .join(CASE, CASE.c.id == ROUTE.c.case_id)
        .join(CONTACT, CONTACT.c.id == CASE.c.contact_id)
        .where(ROUTE.c.route.is_(None), CASE.c.closed_at.is_(None))
        .order_by(ROUTE.c.created_at, ROUTE.c.case_id)
    )
    return list(conn.execute(query).mappings())


def routes_of(conn: Connection, *, case_ids: Sequence[int]) -> dict[int, str | None]:
    """The decided route (or None) of each case that reached Operations."""
    rows = conn.execute(
        select(ROUTE.c.case_id, ROUTE.c.route).where(ROUTE.c.case_id.in_(list(case_ids)))
    )
    return {r.case_id: r.route for r in rows}


# --- remote steps ---


def record_remote_step(
    conn: Connection, *, case_id: int, phrase_key: str, sent_by: str, now: datetime
) -> int:
    """A step sent to the client; returns its id."""
    result = conn.execute(
        insert(REMOTE_STEP)
        .values(case_id=case_id, phrase_key=phrase_key, sent_by=sent_by, sent_at=now)
        .returning(REMOTE_STEP.c.id)
    )
    return int(result.scalar_one())


def set_remote_result(
    conn: Connection, *, step_id: int, case_id: int, result: str, now: datetime
) -> bool:
    """The client's result of one step; False when the step is not the case's."""
    done = conn.execute(
        update(REMOTE_STEP)
        .where(REMOTE_STEP.c.id == step_id, REMOTE_STEP.c.case_id == case_id)
        .values(result=result, result_at=now)
    )
    return done.rowcount == 1


def list_remote_steps(conn: Connection, *, case_id: int) -> list[RowMapping]:
    """The steps sent on a case, in order."""
    query = select(REMOTE_STEP).where(REMOTE_STEP.c.case_id == case_id)
    return list(conn.execute(query.order_by(REMOTE_STEP.c.id)).mappings())


# --- technicians ---


def list_technicians(conn: Connection, *, active_only: bool = False) -> list[RowMapping]:
    """Technicians by name."""
    query = select(TECHNICIAN).order_by(TECHNICIAN.c.name)
    if active_only:
        query = query.where(TECHNICIAN.c.active.is_(True))
    return list(conn.execute(query).mappings())


def get_technician(conn: Connection, *, technician_id: int) -> RowMapping | None:
    """One technician."""
    query = select(TECHNICIAN).where(TECHNICIAN.c.id == technician_id)
    return conn.execute(query).mappings().first()


def technician_named(conn: Connection, *, name: str) -> RowMapping | None:
    """The technician with this name."""
    query = select(TECHNICIAN).where(TECHNICIAN.c.name == name)
    return conn.execute(query).mappings().first()


def add_technician(
    conn: Connection,
    *,
    name: str,
    telegram_chat_id: str | None,
    whatsapp: str | None,
    now: datetime,
) -> int:
    """A new active technician; returns the id."""
    result = conn.execute(
        insert(TECHNICIAN)
        .values(
            name=name,
            telegram_chat_id=telegram_chat_id,
            whatsapp=whatsapp,
            active=True,
            created_at=now,
        )
        .returning(TECHNICIAN.c.id)
    )
    return int(result.scalar_one())


def update_technician(conn: Connection, *, technician_id: int, **values: Any) -> bool:
    """Change a technician's contact or active flag."""
    done = conn.execute(
        update(TECHNICIAN).where(TECHNICIAN.c.id == technician_id).values(**values)
    )
    return done.rowcount == 1


# --- visits ---


def add_visit(conn: Connection, **values: Any) -> int:
    """A new work order; returns its id."""
    result = conn.execute(insert(VISIT).values(**values).returning(VISIT.c.id))
    return int(result.scalar_one())


def get_visit(conn: Connection, *, visit_id: int, lock: bool = False) -> RowMapping | None:
    """One visit, every column."""
    query = select(VISIT).where(VISIT.c.id == visit_id)
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return conn.execute(query).mappings().first()


def visit_by_token(conn: Connection, *, token_hash: str) -> RowMapping | None:
    """The visit whose link token hashes to this."""
    query = select(VISIT).where(VISIT.c.token_hash == token_hash)
    return conn.execute(query).mappings().first()


def move_visit(
    conn: Connection, *, visit_id: int, from_status: str, values: dict[str, Any]
) -> bool:
    """Change a visit's status (compare-and-set on the status read); False when it moved."""
    done = conn.execute(
        update(VISIT).where(VISIT.c.id == visit_id, VISIT.c.status == from_status).values(**values)
    )
    return done.rowcount == 1


def update_visit(conn: Connection, *, visit_id: int, **values: Any) -> None:
    """Record fields of a visit that are not its status (who was told, errors)."""
    conn.execute(update(VISIT).where(VISIT.c.id == visit_id).values(**values))


def record_visit_event(
    conn: Connection,
    *,
    visit_id: int,
    status: str,
    actor: str,
    now: datetime,
    note: str | None = None,
    photo_path: str | None = None,
) -> None:
    """Append one status change of a visit."""
    conn.execute(
        insert(VISIT_EVENT).values(
            visit_id=visit_id, status=status, actor=actor, note=note, photo_path=photo_path, at=now
        )
    )


def list_visit_events(conn: Connection, *, visit_id: int) -> list[RowMapping]:
    """A visit's status history, oldest first."""
    query = select(VISIT_EVENT).where(VISIT_EVENT.c.visit_id == visit_id)
    return list(conn.execute(query.order_by(VISIT_EVENT.c.id)).mappings())


def list_visits(
    conn: Connection,
    *,
    case_ids: Sequence[int] | None = None,
    open_only: bool = False,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[RowMapping]:
    """Visits with their technician's name, oldest first."""
    query = select(VISIT, TECHNICIAN.c.name.label("technician")).join(
        TECHNICIAN, TECHNICIAN.c.id == VISIT.c.technician_id
    )
    if case_ids is not None:
        query = query.where(VISIT.c.case_id.in_(list(case_ids)))
    if open_only:
        query = query.where(VISIT.c.status.in_(OPEN_VISIT_STATUSES))
    if since is not None:
        query = query.where(VISIT.c.created_at >= since)
    if until is not None:
        query = query.where(VISIT.c.created_at < until)
    return list(conn.execute(query.order_by(VISIT.c.created_at, VISIT.c.id)).mappings())


def anonymise_visits(conn: Connection, *, case_ids: Sequence[int]) -> list[str]:
    """Forget the personal data of the cases' visits; returns the photo files to delete."""
    ids = list(case_ids)
    visit_ids = select(VISIT.c.id).where(VISIT.c.case_id.in_(ids)).scalar_subquery()
    files = [
        p
        for p in conn.execute(select(VISIT.c.photo_path).where(VISIT.c.case_id.in_(ids))).scalars()
        if p
    ]
    files += [
        p
        for p in conn.execute(
            select(VISIT_EVENT.c.photo_path).where(VISIT_EVENT.c.visit_id.in_(visit_ids))
        ).scalars()
        if p
    ]
    conn.execute(
        update(VISIT)
        .where(VISIT.c.case_id.in_(ids))
        .values(
            address="",
            latitude=None,
            longitude=None,
            contact="",
            problem="",
            note=None,
            photo_path=None,
            notify_error=None,
        )
    )
    conn.execute(
        update(VISIT_EVENT)
        .where(VISIT_EVENT.c.visit_id.in_(visit_ids))
        .values(note=None, photo_path=None)
    )
    return sorted(set(files))
