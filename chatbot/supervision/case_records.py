"""Cases as plain records: the JSON of `loket cases --json`, the exports and the reports.

One shape everywhere, so a figure on the dashboard can be recomputed from the JSON.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Connection, Table, select

from db import campaign_queries, queries
from db import visit_queries as vq
from db.engine import as_utc
from db.models import CaseEvent, Contact, Escalation, QaReview, User

EVENT = cast(Table, CaseEvent.__table__)  # type: ignore[attr-defined]
ESCALATION = cast(Table, Escalation.__table__)  # type: ignore[attr-defined]
CONTACT = cast(Table, Contact.__table__)  # type: ignore[attr-defined]
USER = cast(Table, User.__table__)  # type: ignore[attr-defined]
QA = cast(Table, QaReview.__table__)  # type: ignore[attr-defined]

CLOCK_FIELDS = (
    "handed_off_at",
    "assigned_at",
    "first_response_at",
    "frt_missed_at",
    "sla_due_at",
    "sla_breached_at",
    "resolved_at",
    "anonymised_at",
)


def iso(value: Any) -> str | None:
    """An aware UTC ISO-8601 text, or None."""
    moment = as_utc(value)
    return moment.isoformat() if moment is not None else None


def _by_case(rows: Sequence[Any]) -> dict[int, list[Any]]:
    found: dict[int, list[Any]] = {}
    for row in rows:
        found.setdefault(row["case_id"], []).append(row)
    return found


def cases_json(
    conn: Connection, rows: Sequence[Any], *, transcripts: bool = True
) -> list[dict[str, Any]]:
    """The cases as JSON-ready dicts: fields, clocks, owner, escalations, events, transcript."""
    ids = [r["id"] for r in rows]
    messages: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    attachments: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    surveys: dict[int, dict[str, Any]] = {}
    if transcripts:
        for m in queries.list_messages(conn, case_ids=ids):
            entry: dict[str, Any] = {
                "direction": m["direction"],
                "text": m["text"],
                "at": iso(m["created_at"]),
                "kind": m["kind"],
                "author": m["author"],
            }
            if m["direction"] == "out":
                entry.update(
                    status=m["status"],
                    phrase_key=m["phrase_key"],
                    provider_id=m["provider_id"],
                    error=m["error"],
                )
            messages[m["case_id"]].append(entry)
    for a in queries.list_attachments(conn, case_ids=ids):
        attachments[a["case_id"]].append(
            {
                "kind": a["kind"],
                "url": a["url"],
                "file_id": a["file_id"],
                "content_type": a["content_type"],
                "filename": a["filename"],
                "size": a["size"],
                "stored_path": a["stored_path"],
            }
        )
    for s in queries.list_surveys(conn, case_ids=ids):
        surveys[s["case_id"]] = {"rating": s["rating"], "comment": s["comment"]}
    names = {r.id: r.name for r in conn.execute(select(USER.c.id, USER.c.name))}
    contact_ids = sorted({r["contact_id"] for r in rows})
    contacts = {
        r.id: {"name": r.display_name, "phone": r.phone}
        for r in conn.execute(
            select(CONTACT.c.id, CONTACT.c.display_name, CONTACT.c.phone).where(
                CONTACT.c.id.in_(contact_ids)
            )
        )
    }
    events = _by_case(
        list(
            conn.execute(
                select(EVENT).where(EVENT.c.case_id.in_(ids)).order_by(EVENT.c.id)
            ).mappings()
        )
    )
    escalations = _by_case(
        list(
            conn.execute(
                select(ESCALATION).where(ESCALATION.c.case_id.in_(ids)).order_by(ESCALATION.c.id)
            ).mappings()
        )
    )
    campaigns = campaign_queries.campaigns_of_cases(conn, case_ids=ids)
    reviews = {
        r.case_id: {"score": r.score, "agent_id": r.agent_id, "reviewer": r.reviewer}
        for r in conn.execute(
            select(QA.c.case_id, QA.c.score, QA.c.agent_id, QA.c.reviewer).where(
                QA.c.case_id.in_(ids)
            )
        )
    }
    routes = vq.routes_of(conn, case_ids=ids)  # #17
    visits = {v["case_id"]: v for v in vq.list_visits(conn, case_ids=ids)}  # the latest wins
    return [
        {
            "id": r["id"],
            "channel": r["channel"],
            "chat_id": r["chat_id"],
            "profile": r["profile"],
            "locale": r["locale"],
            "state": r["state"],
            "category": r["category"],
            "sla_minutes": r["sla_minutes"],
            "opened_at": iso(r["opened_at"]),
            "updated_at": iso(r["updated_at"]),
            "queued_at": iso(r["queued_at"]),
            "closed_at": iso(r["closed_at"]),
            "closed_reason": r["closed_reason"],
            "closed_by": r["closed_by"],
            "campaign": campaigns.get(r["id"]),  # a reply's campaign, or None (docs/campaigns.md)
            "fields": json.loads(r["fields_json"]),
            "attachments": attachments[r["id"]],
            "survey": surveys.get(r["id"], {"rating": None, "comment": None}),
            "messages": messages[r["id"]],
            # --- the case clocks and owners (the agent desk writes them, the KPIs read them) ---
            "source": r["source"],
            "contact": contacts.get(r["contact_id"], {"name": None, "phone": None}),
            **{name: iso(r[name]) for name in CLOCK_FIELDS},
            "assignee_id": r["assignee_id"],
            "assignee": names.get(r["assignee_id"]) if r["assignee_id"] else None,
            "first_response_by_id": r["first_response_by"],
            "first_response_by": (
                names.get(r["first_response_by"]) if r["first_response_by"] else None
            ),
            "resolved_by": r["resolved_by"],
            "escalations": [
                {
                    "area": e["area"],
                    "outlet": e["outlet"],
                    "detail": e["detail"],
                    "status": e["status"],
                    "filed_by": e["filed_by"],
                    "created_at": iso(e["created_at"]),
                }
                for e in escalations.get(r["id"], [])
            ],
            "qa_review": reviews.get(r["id"]),
            "events": [
                {"kind": e["kind"], "actor": e["actor"], "detail": e["detail"], "at": iso(e["at"])}
                for e in events.get(r["id"], [])
            ],
            # #17 (docs/visits.md): null until Operations decides; "visit" is the latest one
            "route": routes.get(r["id"]),
            "visit": _visit_json(visits.get(r["id"])),
        }
        for r in rows
    ]


def _visit_json(visit: Any) -> dict[str, Any] | None:
    """A case's latest visit as `loket cases --json` shows it; None without one."""
    if visit is None:
        return None
    return {
        "status": visit["status"],
        "technician": visit["technician"],
        "window_start": iso(visit["window_start"]),
        "window_end": iso(visit["window_end"]),
        "address": visit["address"],
    }
