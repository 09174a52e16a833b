"""What the supervisors' pages read: KPI reports, a figure's cases, QA lists, reports, forms.

No HTTP here: chatbot/web/kpi.py calls these methods and renders what they return. Every
method reads through `db.engine.read` (a snapshot that never queues behind writes).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TextIO

from sqlalchemy import Engine, select

from chatbot.supervision import kpi, reports
from chatbot.supervision.case_records import cases_json
from db.engine import read
from db.models import CaseNote
from db.queries import CASE
from flows.profiles.schema import Profile

MAX_CASES_SHOWN = 1000  # a figure's case list shows at most this many


@dataclass(frozen=True, slots=True)
class FigureCases:
    """The cases behind one figure of one scorecard (the KPI drill-down)."""

    card: kpi.Scorecard
    figure: kpi.Figure
    total: int  # cases behind the figure (or missing its target), before the cap
    rows: Sequence[Any]  # id, opened_at, category, state, closed_reason; oldest first


class SupervisionPages:
    """The supervisors' pages' reads, on one database."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def kpi_report(
        self, profile: Profile, period: kpi.Period, *, now: datetime, charts: bool = True
    ) -> kpi.KpiReport:
        """The team's and each agent's KPIs for the period, as of `now`."""
        with read(self._engine) as conn:
            return kpi.compute(conn, profile, period, now=now, charts=charts)

    def figure_cases(
        self,
        profile: Profile,
        period: kpi.Period,
        *,
        now: datetime,
        figure: str,
        agent: int | None,
        misses_only: bool,
    ) -> FigureCases:
        """The cases behind one figure of the team's (or an agent's) scorecard.

        Raises:
            KeyError: the agent has no figures in this period.
        """
        with read(self._engine) as conn:
            report = kpi.compute(conn, profile, period, now=now, charts=False)
            card = report.scorecard(agent)
            shown = card[figure]
            ids = shown.miss_ids if misses_only else shown.case_ids
            rows = conn.execute(
                select(
                    CASE.c.id,
                    CASE.c.opened_at,
                    CASE.c.category,
                    CASE.c.state,
                    CASE.c.closed_reason,
                )
                .where(CASE.c.id.in_(list(ids)[:MAX_CASES_SHOWN]))
                .order_by(CASE.c.opened_at, CASE.c.id)
            ).all()
        return FigureCases(card=card, figure=shown, total=len(ids), rows=rows)

    def reviewed_agents(self) -> tuple[dict[int, str], list[int]]:
        """(desk users' names by id, the active agents) for the QA samples page."""
        with read(self._engine) as conn:
            return kpi.user_names(conn), kpi.agent_ids(conn)

    def case_record(self, case_id: int) -> dict[str, Any] | None:
        """One case as JSON-ready dict with its transcript and events; None if there is none."""
        with read(self._engine) as conn:
            rows = list(conn.execute(select(CASE).where(CASE.c.id == case_id)).mappings())
            return cases_json(conn, rows)[0] if rows else None

    def case_notes(self, case_id: int) -> list[dict[str, Any]]:
        """A case's internal notes, oldest first: author, text, at."""
        table = CaseNote.__table__  # type: ignore[attr-defined]
        with read(self._engine) as conn:
            return [
                {"author": r.author, "text": r.text, "at": r.created_at}
                for r in conn.execute(
                    select(table).where(table.c.case_id == case_id).order_by(table.c.id)
                )
            ]

    def write_daily(self, profile: Profile, day: date, out: io.BytesIO, *, now: datetime) -> None:
        """The daily log of `day` as a workbook into `out`."""
        with read(self._engine) as conn:
            reports.write_daily(conn, profile, day, out, now=now)

    def write_monthly(
        self, profile: Profile, year: int, month: int, out: io.BytesIO, *, now: datetime
    ) -> None:
        """The monthly performance workbook into `out`."""
        with read(self._engine) as conn:
            reports.write_monthly(conn, profile, year, month, out, now=now)

    def monthly_html(self, profile: Profile, year: int, month: int, *, now: datetime) -> str:
        """The monthly performance report as a printable page."""
        with read(self._engine) as conn:
            return reports.monthly_html(conn, profile, year, month, now=now)

    def export_cases(
        self, profile: Profile, first: date, last: date, fmt: str, out: TextIO, *, now: datetime
    ) -> None:
        """Cases opened from `first` to `last` (local days) as CSV or JSONL into `out`."""
        with read(self._engine) as conn:
            reports.export_cases(conn, profile, first, last, fmt, out, now=now)

    def director_summary(
        self, profile: Profile, period: kpi.Period, *, now: datetime
    ) -> tuple[kpi.KpiReport, list[reports.CaseLine]]:
        """The month's KPIs (no charts) and its case lines, for the director's summary."""
        with read(self._engine) as conn:
            report = kpi.compute(conn, profile, period, now=now, charts=False)
            lines = reports.case_lines(conn, period, profile, now=now)
        return report, lines
