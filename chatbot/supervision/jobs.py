"""Scheduled supervision work: the daily log at the profile's hour, retention, old reports.

The daily log is posted, when configured, to the agents' Telegram group and/or the Discord
webhook through a `Poster`: in the app, chatbot/agents/notify.py's `Notifier.post_file`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from chatbot.clock import Clock
from chatbot.supervision.reports import write_daily
from chatbot.supervision.retention import Retention, prune_reports
from db.engine import read
from flows.profiles.schema import Profile

logger = logging.getLogger(__name__)


# What posts a file: (file name, bytes, caption); chatbot/agents/notify.py's Notifier.post_file.
Poster = Callable[[str, bytes, str], Awaitable[object]]


class SupervisionJobs:
    """One `tick()` does what is due; `run()` ticks until stopped (the app's lifespan)."""

    def __init__(
        self,
        engine: Engine,
        profile: Callable[[], Profile],
        clock: Clock,
        *,
        reports_dir: Path,
        media_dir: Path | None = None,
        poster: Poster | None = None,
    ) -> None:
        self._engine = engine
        self._profile = profile
        self._clock = clock
        self._reports_dir = reports_dir
        self._post = poster
        self._retention = Retention(engine, clock, media_dir=media_dir)
        self._last_housekeeping: datetime | None = None

    def daily_path(self, day: str) -> Path:
        """Where the daily log of a day (YYYY-MM-DD) is kept."""
        return self._reports_dir / f"daily-{day}.xlsx"

    async def tick(self) -> Path | None:
        """Write (and post) today's log once its hour has come; hourly housekeeping."""
        profile = self._profile()
        now = self._clock.now()
        written = None
        if profile.daily_report_hour is not None:
            local = now.astimezone(ZoneInfo(profile.timezone))
            path = self.daily_path(local.date().isoformat())
            if local.hour >= profile.daily_report_hour and not path.exists():
                written = await asyncio.to_thread(self._write, profile, local, path)
                await self._announce(profile, local, written)
        if (
            self._last_housekeeping is None
            or (now - self._last_housekeeping).total_seconds() >= 3600
        ):
            self._last_housekeeping = now
            await asyncio.to_thread(self._housekeeping, profile, now)
        return written

    async def _announce(self, profile: Profile, local: datetime, written: Path) -> None:
        if self._post is None:
            logger.info("Daily log %s written.", written.name)
            return
        caption = f"{profile.desk_name}: daily log {local.date().isoformat()}"
        data = await asyncio.to_thread(written.read_bytes)
        try:
            posted = await self._post(written.name, data, caption)
        except Exception as exc:  # the file is written; a failed post must not stop the loop
            posted = f"nothing ({exc})"
        logger.info("Daily log %s written; posted: %s.", written.name, posted)

    def _write(self, profile: Profile, local: datetime, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part")
        with read(self._engine) as conn:
            write_daily(conn, profile, local.date(), partial, now=self._clock.now())
        partial.replace(path)  # the file appears whole or not at all
        return path

    def _housekeeping(self, profile: Profile, now: datetime) -> None:
        self._retention.run(profile)
        prune_reports(self._reports_dir, profile.report_retention_days, now)

    async def run(self, poll_seconds: float, stop: asyncio.Event) -> None:
        """Tick every `poll_seconds` until `stop` is set; a failed tick is logged and retried.

        The first tick comes one interval after start, so a short-lived app (a test, a
        restart loop) does not write reports or run retention on its way up.
        """
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=poll_seconds)
            if stop.is_set():
                break
            try:
                await self.tick()
            except Exception:  # the schedule must outlive one bad round
                logger.exception("Supervision jobs failed; trying again next round.")
