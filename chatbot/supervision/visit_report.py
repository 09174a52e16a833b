"""The "Visits" sheet of the monthly report (docs/visits.md).

Visits scheduled in the month: how many ended fixed, not fixed, cancelled or are still open
(and overdue), the first-time-fix rate, a line per technician and one per visit. Only for
profiles with Operations routing (Intera); the other desks' workbooks stay as they were.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from chatbot.agents.visits import OPEN_STATUSES, first_time_fix, is_overdue
from chatbot.supervision import kpi
from chatbot.supervision.cells import append_row
from db import visit_queries as vq
from db.engine import as_utc
from flows.profiles.schema import Profile

SHEET = "Visits"
TECHNICIAN_COLUMNS = ("Technician", "Visits", "Fixed", "Not fixed", "Cancelled", "Open", "Overdue")
VISIT_COLUMNS = (
    "Visit",
    "Case",
    "Technician",
    "Status",
    "Window start",
    "Window end",
    "Finished",
    "Product fault",
    "Address",
    "Note",
)


def _local(value: Any, zone: ZoneInfo) -> datetime | None:
    moment = as_utc(value)
    return moment.astimezone(zone).replace(tzinfo=None) if moment is not None else None


def add_sheet(
    book: Any, conn: Connection, profile: Profile, period: kpi.Period, *, now: datetime
) -> int | None:
    """Write the sheet for visits scheduled in `period`; returns how many (None: no sheet)."""
    if profile.routing is None:
        return None
    from openpyxl.styles import Font

    zone = ZoneInfo(profile.timezone)
    visits = [dict(v) for v in vq.list_visits(conn, since=period.start, until=period.end)]
    sheet = book.create_sheet(SHEET)
    append_row(sheet, [f"{profile.desk_name}: technician visits {period.label}"])
    sheet["A1"].font = Font(bold=True, size=14)
    finished, fixed = first_time_fix(visits)
    rate = round(100.0 * fixed / finished, 1) if finished else "–"
    count = {s: sum(1 for v in visits if v["status"] == s) for s in ("fixed", "not_fixed")}
    summary = [
        ("Visits scheduled", len(visits)),
        ("Fixed", count["fixed"]),
        ("Not fixed", count["not_fixed"]),
        ("Cancelled", sum(1 for v in visits if v["status"] == "cancelled")),
        ("Open", sum(1 for v in visits if v["status"] in OPEN_STATUSES)),
        ("Overdue (open, window over)", sum(1 for v in visits if is_overdue(v, now))),
        ("First-time-fix rate (%)", rate),
    ]
    for label, value in summary:
        append_row(sheet, [label, value])
    append_row(sheet, [])
    append_row(sheet, list(TECHNICIAN_COLUMNS))
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for name in sorted({v["technician"] for v in visits}):
        mine = [v for v in visits if v["technician"] == name]
        append_row(
            sheet,
            [
                name,
                len(mine),
                sum(1 for v in mine if v["status"] == "fixed"),
                sum(1 for v in mine if v["status"] == "not_fixed"),
                sum(1 for v in mine if v["status"] == "cancelled"),
                sum(1 for v in mine if v["status"] in OPEN_STATUSES),
                sum(1 for v in mine if is_overdue(v, now)),
            ],
        )
    append_row(sheet, [])
    append_row(sheet, list(VISIT_COLUMNS))
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for v in visits:
        fault = {True: "yes", False: "no", None: ""}[v["product_fault"]]
        append_row(
            sheet,
            [
                v["id"],
                v["case_id"],
                v["technician"],
                v["status"],
                _local(v["window_start"], zone),
                _local(v["window_end"], zone),
                _local(v["finished_at"], zone),
                fault,
                v["address"],
                v["note"] or "",
            ],
        )
    return len(visits)
