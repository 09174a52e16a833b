"""The reports: the ERZAP daily log, the monthly performance workbook, case exports.

Workbooks are written with openpyxl (charts with openpyxl.chart), imported inside the
functions that write them (OPENPYXL_LATE): it costs about 18 MB resident, and every web and
background worker imports this module while few ever write a workbook. The printable pages
are Jinja2 templates under chatbot/web/templates/supervision, rendered with autoescape on.
Every row of a workbook or CSV file goes through chatbot/supervision/cells.py (`append_row`,
`CsvRows`), so client text never becomes a formula or an unwritable character.
"""

from __future__ import annotations

import io
import json
import logging
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import Connection, select

from chatbot.resource import package_dir
from chatbot.supervision import kpi, visit_report
from chatbot.supervision.case_records import CONTACT, ESCALATION, USER, cases_json
from chatbot.supervision.cells import CsvRows, append_row
from db.engine import as_utc
from db.queries import CASE, SURVEY
from flows.profiles.schema import Profile

logger = logging.getLogger(__name__)

TEMPLATES = package_dir("chatbot", "web", "templates")
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"

DAILY_COLUMNS = (
    "Date",
    "Case",
    "Client",
    "Channel",
    "Outlet group / domain",
    "Problem summary",
    "Category",
    "Time in",
    "First response",
    "Time resolved",
    "SLA met",
    "Agent",
    "Escalated",
    "Escalation area",
    "Status",
    "CSAT",
    "Comment",
)
EXPORT_COLUMNS = (
    *DAILY_COLUMNS,
    "Source",
    "Handed off",
    "SLA due",
    "Closed",
    "Closed reason",
    "Closed by",
    "Resolved by",
    "FRT (s)",
)
SLA_WORDS = {"met": "yes", "missed": "no", "pending": "pending", "none": ""}
SUMMARY_LIMIT = 300


@dataclass(frozen=True, slots=True)
class CaseLine:
    """One case as the daily log and the CSV export show it; times in local time."""

    values: dict[str, Any]

    def row(self, columns: Sequence[str]) -> list[Any]:
        """The values in the order of `columns`."""
        return [self.values[name] for name in columns]


def local_time(value: Any, zone: ZoneInfo) -> datetime | None:
    """A stored UTC moment as a naive local time (spreadsheets have no zones)."""
    moment = as_utc(value)
    return moment.astimezone(zone).replace(tzinfo=None) if moment is not None else None


def case_lines(
    conn: Connection, period: kpi.Period, profile: Profile, *, now: datetime
) -> list[CaseLine]:
    """The cases opened in the period, one line each, oldest first (spam included, marked)."""
    zone = ZoneInfo(profile.timezone)
    facts = {f.id: f for f in kpi.case_facts(conn, period, now, profile=profile)}
    c = CASE.c
    rows = conn.execute(
        select(
            c.id,
            c.channel,
            c.category,
            c.state,
            c.source,
            c.opened_at,
            c.handed_off_at,
            c.first_response_at,
            c.resolved_at,
            c.sla_due_at,
            c.closed_at,
            c.closed_reason,
            c.closed_by,
            c.resolved_by,
            c.fields_json,
            c.context_json,
            CONTACT.c.display_name,
            USER.c.name.label("agent"),
            SURVEY.c.rating,
            SURVEY.c.comment,
        )
        .select_from(
            CASE.join(CONTACT, CONTACT.c.id == c.contact_id)
            .outerjoin(USER, USER.c.id == c.assignee_id)
            .outerjoin(SURVEY, SURVEY.c.case_id == c.id)
        )
        .where(c.opened_at >= period.start, c.opened_at < period.end)
        .order_by(c.opened_at, c.id)
    ).all()
    areas: dict[int, list[str]] = defaultdict(list)
    for e in conn.execute(
        select(ESCALATION.c.case_id, ESCALATION.c.area)
        .join(CASE, CASE.c.id == ESCALATION.c.case_id)
        .where(CASE.c.opened_at >= period.start, CASE.c.opened_at < period.end)
        .order_by(ESCALATION.c.id)
    ):
        if e.area not in areas[e.case_id]:
            areas[e.case_id].append(e.area)
    lines = []
    for r in rows:
        fields = json.loads(r.fields_json or "{}")
        context = json.loads(r.context_json or "{}")
        fact = facts.get(r.id)
        opened = local_time(r.opened_at, zone)
        lines.append(
            CaseLine(
                {
                    "Date": opened.date() if opened else None,
                    "Case": r.id,
                    "Client": str(fields.get("name") or r.display_name or ""),
                    "Channel": r.channel,
                    "Outlet group / domain": str(fields.get("outlet") or ""),
                    "Problem summary": str(context.get("story") or "")[:SUMMARY_LIMIT],
                    "Category": r.category or "",
                    "Time in": opened,
                    "First response": local_time(r.first_response_at, zone),
                    "Time resolved": local_time(r.resolved_at, zone),
                    "SLA met": (
                        SLA_WORDS[fact.sla] if fact and not (fact.cancelled or fact.spam) else ""
                    ),
                    "Agent": r.agent or "",
                    "Escalated": "yes" if areas.get(r.id) else "no",
                    "Escalation area": ", ".join(areas.get(r.id, [])),
                    "Status": r.closed_reason or r.state,
                    "CSAT": r.rating,
                    "Comment": r.comment or "",
                    "Source": r.source,
                    "Handed off": local_time(r.handed_off_at, zone),
                    "SLA due": local_time(r.sla_due_at, zone),
                    "Closed": local_time(r.closed_at, zone),
                    "Closed reason": r.closed_reason or "",
                    "Closed by": r.closed_by or "",
                    "Resolved by": r.resolved_by or "",
                    "FRT (s)": fact.frt_s if fact else None,
                }
            )
        )
    return lines


def _header(sheet: Any, columns: Sequence[str]) -> None:
    from openpyxl.styles import Font  # openpyxl is imported where used (OPENPYXL_LATE)

    append_row(sheet, columns)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"


def _format_times(sheet: Any, columns: Sequence[str]) -> None:
    from openpyxl.utils import get_column_letter

    for index, name in enumerate(columns, start=1):
        letter = get_column_letter(index)
        width = 12
        if name in ("Time in", "First response", "Time resolved", "Handed off", "SLA due"):
            width = 17
            for cell in sheet[letter][1:]:
                cell.number_format = DATETIME_FORMAT
        elif name == "Date":
            for cell in sheet[letter][1:]:
                cell.number_format = "yyyy-mm-dd"
        elif name in ("Problem summary", "Comment"):
            width = 40
        sheet.column_dimensions[letter].width = width


def write_daily(
    conn: Connection, profile: Profile, day: date, out: Path | io.BytesIO, *, now: datetime
) -> int:
    """The ERZAP daily log of `day` (local): one row per case opened that day; returns rows."""
    from openpyxl import Workbook

    zone = ZoneInfo(profile.timezone)
    lines = case_lines(conn, kpi.day_period(day, zone), profile, now=now)
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook has one sheet
    sheet.title = f"Log {day.isoformat()}"
    _header(sheet, DAILY_COLUMNS)
    for line in lines:
        append_row(sheet, line.row(DAILY_COLUMNS))
    _format_times(sheet, DAILY_COLUMNS)
    book.save(out)
    return len(lines)


def _figure_text(figure: kpi.Figure) -> Any:
    return figure.value if figure.value is not None else "–"


def write_monthly(
    conn: Connection,
    profile: Profile,
    year: int,
    month: int,
    out: Path | io.BytesIO,
    *,
    now: datetime,
) -> kpi.KpiReport:
    """The Telkom monthly performance workbook: team, agents, daily charts, CSAT, QA."""
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, LineChart, Reference
    from openpyxl.styles import Font

    zone = ZoneInfo(profile.timezone)
    report = kpi.compute(conn, profile, kpi.month_period(year, month, zone), now=now)
    book = Workbook()
    team = book.active
    assert team is not None
    team.title = "Team"
    append_row(team, [f"{profile.desk_name}: performance {report.period.label}"])
    team["A1"].font = Font(bold=True, size=14)
    append_row(team, [f"As of {now.astimezone(zone):%Y-%m-%d %H:%M} ({profile.timezone})"])
    append_row(team, [])
    append_row(team, ["Figure", "Value", "Target", "Met", "Cases"])
    for cell in team[4]:
        cell.font = Font(bold=True)
    for key in kpi.FIGURE_KEYS:
        figure = report.team[key]
        append_row(
            team,
            [
                figure.label,
                _figure_text(figure),
                f"{figure.comparison} {figure.target:g}" if figure.target is not None else "",
                {True: "yes", False: "no", None: "–"}[figure.met],
                len(figure.case_ids),
            ],
        )
    append_row(team, [])
    append_row(team, ["Count", "Cases"])
    for name, count in report.team.counts.items():
        append_row(team, [name, count])
    team.column_dimensions["A"].width = 36

    agents = book.create_sheet("Agents")
    columns = ["Agent", *(kpi.LABELS[k] for k in kpi.FIGURE_KEYS), "Cases", "Reviewed"]
    _header(agents, columns)
    for card in [*report.agents, report.team]:
        append_row(
            agents,
            [
                card.name,
                *(_figure_text(card[k]) for k in kpi.FIGURE_KEYS),
                card.counts["cases"],
                card.counts["reviewed"],
            ],
        )
    agents.column_dimensions["A"].width = 20

    daily = book.create_sheet("Daily")
    day_columns = ["Day", "Easy", "Normal", "Hard", "Uncategorised", "FRT within %", "SLA met %"]
    _header(daily, day_columns)
    for point in report.daily:
        append_row(
            daily,
            [
                point["day"],
                point["easy"],
                point["normal"],
                point["hard"],
                point["uncategorised"],
                point["frt_within"],
                point["sla_met"],
            ],
        )
    last = len(report.daily) + 1
    bars = BarChart()
    bars.type = "col"
    bars.grouping = "stacked"
    bars.overlap = 100
    bars.title = "Cases per day by category"
    bars.add_data(
        Reference(daily, min_col=2, max_col=5, min_row=1, max_row=last), titles_from_data=True
    )
    bars.set_categories(Reference(daily, min_col=1, min_row=2, max_row=last))
    bars.width, bars.height = 24, 9
    daily.add_chart(bars, "I2")
    lines = LineChart()
    lines.title = "FRT within target and SLA met (%)"
    lines.add_data(
        Reference(daily, min_col=6, max_col=7, min_row=1, max_row=last), titles_from_data=True
    )
    lines.set_categories(Reference(daily, min_col=1, min_row=2, max_row=last))
    lines.width, lines.height = 24, 9
    daily.add_chart(lines, "I22")

    csat = book.create_sheet("CSAT")
    _header(csat, ["Rating", "Cases"])
    for star, count in report.csat_distribution.items():
        append_row(csat, [star, count])
    chart = BarChart()
    chart.title = "CSAT distribution"
    chart.add_data(Reference(csat, min_col=2, min_row=1, max_row=6), titles_from_data=True)
    chart.set_categories(Reference(csat, min_col=1, min_row=2, max_row=6))
    csat.add_chart(chart, "D2")
    append_row(csat, [])
    append_row(csat, ["Case", "Rating", "Comment"])
    for case_id, rating, comment in report.comments:
        append_row(csat, [case_id, rating, comment])

    qa = book.create_sheet("QA")
    _header(qa, ["Agent", "Reviews", "QA score", "Target"])
    for card in [*report.agents, report.team]:
        figure = card["qa_score"]
        append_row(qa, [card.name, len(figure.case_ids), _figure_text(figure), figure.target])
    visit_report.add_sheet(book, conn, profile, report.period, now=now)  # #17: Intera only
    book.save(out)
    return report


def render_page(name: str, **context: Any) -> str:
    """A printable page (monthly report, PANASEA forms) as HTML, escaped."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(("html",)),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template(f"supervision/{name}").render(**context)


def monthly_html(
    conn: Connection, profile: Profile, year: int, month: int, *, now: datetime
) -> str:
    """The monthly performance report as a printable page."""
    from chatbot.supervision import charts

    zone = ZoneInfo(profile.timezone)
    report = kpi.compute(conn, profile, kpi.month_period(year, month, zone), now=now)
    return render_page(
        "monthly.html",
        report=report,
        profile=profile,
        keys=kpi.FIGURE_KEYS,
        labels=kpi.LABELS,
        as_of=now.astimezone(zone),
        charts=charts.report_charts(report),
    )


def export_cases(
    conn: Connection,
    profile: Profile,
    first: date,
    last: date,
    fmt: str,
    out: TextIO,
    *,
    now: datetime,
    batch: int = 500,
) -> int:
    """Cases opened from `first` to `last` (local days): CSV lines or JSONL with transcripts."""
    zone = ZoneInfo(profile.timezone)
    period = kpi.range_period(first, last, zone)
    if fmt == "csv":
        writer = CsvRows(out)
        writer.write(EXPORT_COLUMNS)
        lines = case_lines(conn, period, profile, now=now)
        for line in lines:
            writer.write(
                [
                    v.isoformat(sep=" ") if isinstance(v, datetime) else v
                    for v in line.row(EXPORT_COLUMNS)
                ]
            )
        return len(lines)
    if fmt != "jsonl":
        raise ValueError(f"unknown format '{fmt}' (csv, jsonl)")
    count = 0
    for rows in _case_batches(conn, period, batch):
        for record in cases_json(conn, rows):
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    return count


def _case_batches(conn: Connection, period: kpi.Period, size: int) -> Iterator[list[Any]]:
    ids = [
        r.id
        for r in conn.execute(
            select(CASE.c.id)
            .where(CASE.c.opened_at >= period.start, CASE.c.opened_at < period.end)
            .order_by(CASE.c.id)
        )
    ]
    for start in range(0, len(ids), size):
        chunk = ids[start : start + size]
        yield list(
            conn.execute(select(CASE).where(CASE.c.id.in_(chunk)).order_by(CASE.c.id)).mappings()
        )
