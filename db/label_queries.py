"""Case labels: the free-text tags agents put on cases, and the list's filter by them.

Kept apart from db/agent_queries.py, which only reaches in here for the list's filter.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import Connection, Select, Table, delete, insert, select

from db.models import CaseLabel

LABEL = cast(Table, CaseLabel.__table__)  # type: ignore[attr-defined]


def labels_of(conn: Connection, *, case_ids: Sequence[int]) -> dict[int, list[str]]:
    """Each case's labels, alphabetically (cases without a label are left out)."""
    if not case_ids:
        return {}
    query = (
        select(LABEL.c.case_id, LABEL.c.label)
        .where(LABEL.c.case_id.in_(list(case_ids)))
        .order_by(LABEL.c.case_id, LABEL.c.label)
    )
    found: dict[int, list[str]] = {}
    for case_id, label in conn.execute(query):
        found.setdefault(int(case_id), []).append(str(label))
    return found


def add_label(conn: Connection, *, case_id: int, label: str, by: str, now: datetime) -> bool:
    """Put a label on a case; False when the case already has it."""
    if labels_of(conn, case_ids=[case_id]).get(case_id, []).count(label):
        return False
    conn.execute(insert(LABEL).values(case_id=case_id, label=label, added_by=by, created_at=now))
    return True


def remove_label(conn: Connection, *, case_id: int, label: str) -> bool:
    """Take a label off a case; False when it did not have it."""
    gone = conn.execute(delete(LABEL).where(LABEL.c.case_id == case_id, LABEL.c.label == label))
    return gone.rowcount > 0


def known_labels(conn: Connection, *, limit: int = 200) -> list[str]:
    """Labels in use on any case, alphabetically: the list filter's choices."""
    query = select(LABEL.c.label).distinct().order_by(LABEL.c.label).limit(limit)
    return [str(label) for label in conn.execute(query).scalars()]


def cases_labelled(label: str) -> Select[tuple[int]]:
    """The ids of the cases carrying `label`, as a subquery for the list's filter."""
    return select(LABEL.c.case_id).where(LABEL.c.label == label)
