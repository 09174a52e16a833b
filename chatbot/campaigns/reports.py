"""The caring reports: the supervisor's periodic (daily) report and the monthly performance.

Telkom's procedure keeps both for two years. They are xlsx files in LOKET_REPORTS_DIR
(`caring-daily-YYYY-MM-DD.xlsx`, `caring-monthly-YYYY-MM.xlsx`), written on schedule by the
background worker once the profile's report hour has come, and removed by the reports'
retention (chatbot/supervision/retention.py, `report_retention_days`) like every report.
A desk that never ran a campaign gets none.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine

from chatbot.campaigns import errors
from chatbot.clock import Clock, sleep_unless
from chatbot.supervision.cells import append_row
from db import campaign_queries as cq
from db.engine import as_utc, read
from flows.profiles.schema import Profile

logger = logging.getLogger(__name__)

CAMPAIGN_COLUMNS = (
    "Campaign",
    "Name",
    "Channel",
    "State",
    "Recipients",
    "Invalid",
    "Duplicates",
    "Opted out",
    "Sent",
    "Delivered",
    "Read",
    "Failed",
    "Replied",
)
AGENT_COLUMNS = ("Campaign", "Agent", "Contacted", "Reached", "Replied", "Follow-ups open")
FAILURE_COLUMNS = ("Campaign", "Error code", "Count", "Meaning")


def write_caring_report(
    conn: Connection, *, start: datetime, end: datetime, title: str, out: Path
) -> int:
    """A workbook of the campaigns active between start and end; returns how many.

    Sheets: the campaigns' numbers, each agent's work per campaign (the team leader's
    figures), and the failures per error code with their meaning in Indonesian.
    """
    from openpyxl import Workbook

    campaigns = [
        c
        for c in cq.list_campaigns(conn)
        if (as_utc(c["created_at"]) or end) < end and (as_utc(c["updated_at"]) or start) >= start
    ]
    names = dict(cq.user_names(conn))
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook has one sheet
    sheet.title = "Campaigns"
    append_row(sheet, [title])
    append_row(sheet, CAMPAIGN_COLUMNS)
    agents = book.create_sheet("Agents")
    append_row(agents, AGENT_COLUMNS)
    failures = book.create_sheet("Failures")
    append_row(failures, FAILURE_COLUMNS)
    for campaign in reversed(campaigns):
        campaign_id = int(campaign["id"])
        numbers = cq.counts(conn, campaign_id=campaign_id)
        append_row(
            sheet,
            [
                campaign_id,
                campaign["name"],
                campaign["channel"],
                campaign["state"],
                numbers["recipients"],
                campaign["invalid"],
                campaign["duplicates"],
                numbers["opted_out"],
                numbers["sent"],
                numbers["delivered"],
                numbers["read"],
                numbers["failed"],
                numbers["replied"],
            ],
        )
        for row in cq.work_per_agent(conn, campaign_id=campaign_id):
            agent = names.get(row["assignee_id"]) if row["assignee_id"] else "(queue)"
            append_row(
                agents,
                [
                    campaign_id,
                    agent,
                    *(row[k] for k in ("contacted", "reached", "replied", "open")),
                ],
            )
        for code, count in cq.failures_by_code(conn, campaign_id=campaign_id):
            append_row(failures, [campaign_id, code, count, errors.explain(code)])
    book.save(out)
    return len(campaigns)


class CaringReports:
    """Writes the daily and monthly caring reports on schedule (the background worker)."""

    def __init__(
        self,
        engine: Engine,
        profile: Callable[[], Profile],
        clock: Clock,
        *,
        reports_dir: Path,
    ) -> None:
        self._engine = engine
        self._profile = profile
        self._clock = clock
        self._dir = reports_dir

    def tick(self) -> list[Path]:
        """Write today's report once the report hour has come, and last month's on its day."""
        profile = self._profile()
        if profile.daily_report_hour is None:
            return []
        zone = ZoneInfo(profile.timezone)
        local = self._clock.now().astimezone(zone)
        if local.hour < profile.daily_report_hour:
            return []
        with read(self._engine) as conn:
            if not cq.list_campaigns(conn):
                return []
        today = local.date()
        first = today.replace(day=1)
        last_month = (first - timedelta(days=1)).replace(day=1)
        wanted = [
            (f"caring-daily-{today.isoformat()}.xlsx", today, today + timedelta(days=1)),
            (f"caring-monthly-{last_month:%Y-%m}.xlsx", last_month, first),
        ]
        written = []
        for name, since, until in wanted:
            path = self._dir / name
            if not path.exists():
                written.append(self._write(path, since, until, zone))
        return written

    def _write(self, path: Path, since: date, until: date, zone: ZoneInfo) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part")
        start = datetime.combine(since, datetime.min.time(), zone)
        end = datetime.combine(until, datetime.min.time(), zone)
        title = f"{self._profile().business}: caring report {since.isoformat()}"
        if until - since > timedelta(days=1):
            title = f"{self._profile().business}: caring performance {since:%Y-%m}"
        try:
            with read(self._engine) as conn:
                write_caring_report(conn, start=start, end=end, title=title, out=partial)
        except BaseException:
            partial.unlink(missing_ok=True)  # no half-written file left behind
            raise
        partial.replace(path)
        logger.info("Caring report %s written.", path.name)
        return path

    async def run(self, poll_seconds: float, stop: asyncio.Event) -> None:
        """Tick every `poll_seconds` until `stop` is set; a failed tick is logged and retried."""
        while not stop.is_set():
            await sleep_unless(stop, poll_seconds)
            if stop.is_set():
                break
            try:
                await asyncio.to_thread(self.tick)
            except Exception:
                logger.exception("Writing the caring reports failed; trying again next round.")
