"""Scheduled supervision work: the daily log at the profile's hour, retention, old reports.

The daily log is posted, when configured, to the agents' Telegram group and/or the Discord
webhook through a `Poster`: in the app, chatbot/agents/notify.py's `Notifier.post_file`.

Each job runs on its own: one that raises is logged with its traceback, kept in `failures`,
announced once through the `Alert` (the same team channels, `Notifier.post`), and tried
again `RETRY_MINUTES` later, while the other jobs go on as planned.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from chatbot.clock import Clock, sleep_unless
from chatbot.supervision.reports import write_daily
from chatbot.supervision.retention import Retention, prune_reports
from db.engine import read
from flows.profiles.schema import Profile

logger = logging.getLogger(__name__)


# What posts a file: (file name, bytes, caption); chatbot/agents/notify.py's Notifier.post_file.
Poster = Callable[[str, bytes, str], Awaitable[object]]
# What tells the team a job failed: chatbot/agents/notify.py's Notifier.post.
Alert = Callable[[str], Awaitable[object]]
RETRY_MINUTES = 15
ERROR_CHARS = 300  # of an exception's text in `failures` and the alert

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class JobFailure:
    """The last failure of a job: when, and what was raised, on one line."""

    at: datetime
    error: str


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}"[:ERROR_CHARS] if text else type(exc).__name__


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
        alert: Alert | None = None,
    ) -> None:
        self._engine = engine
        self._profile = profile
        self._clock = clock
        self._reports_dir = reports_dir
        self._post = poster
        self._alert = alert
        self._retention = Retention(engine, clock, media_dir=media_dir)
        self._last_housekeeping: datetime | None = None
        self.failures: dict[str, JobFailure] = {}  # job name -> its last failure, until it works

    def daily_path(self, day: str) -> Path:
        """Where the daily log of a day (YYYY-MM-DD) is kept."""
        return self._reports_dir / f"daily-{day}.xlsx"

    async def tick(self) -> Path | None:
        """Write (and post) today's log once its hour has come; hourly housekeeping.

        Returns the daily log written by this tick, if any. No job's failure stops another.
        """
        profile = self._profile()
        now = self._clock.now()
        written = None
        if profile.daily_report_hour is not None:
            local = now.astimezone(ZoneInfo(profile.timezone))
            path = self.daily_path(local.date().isoformat())
            if local.hour >= profile.daily_report_hour and not path.exists():
                written = await self._run(
                    "daily log", profile, now, lambda: self._daily(profile, local, path)
                )
        if (
            self._last_housekeeping is None
            or (now - self._last_housekeeping).total_seconds() >= 3600
        ):
            self._last_housekeeping = now
            await self._run(
                "retention", profile, now, lambda: asyncio.to_thread(self._retention.run, profile)
            )
            await self._run(
                "report pruning",
                profile,
                now,
                lambda: asyncio.to_thread(
                    prune_reports, self._reports_dir, profile.report_retention_days, now
                ),
            )
        return written

    async def _run(
        self,
        name: str,
        profile: Profile,
        now: datetime,
        job: Callable[[], Awaitable[T]],
    ) -> T | None:
        """Run one job; on failure log it, keep it in `failures`, alert once, return None."""
        failed = self.failures.get(name)
        if failed is not None and now - failed.at < timedelta(minutes=RETRY_MINUTES):
            return None
        try:
            result = await job()
        except Exception as exc:  # one job's failure must not stop the others
            self.failures[name] = JobFailure(now, _one_line(exc))
            logger.exception(
                "Supervision job '%s' failed; the other jobs go on; trying again in %s minutes.",
                name,
                RETRY_MINUTES,
            )
            if failed is None:
                await self._tell(profile, name, self.failures[name])
            return None
        if self.failures.pop(name, None) is not None:
            logger.info("Supervision job '%s' works again.", name)
        return result

    async def _tell(self, profile: Profile, name: str, failure: JobFailure) -> None:
        if self._alert is None:
            return
        text = (
            f"{profile.desk_name}: the scheduled {name} failed ({failure.error}). Loket tries "
            f"again every {RETRY_MINUTES} minutes; the worker's log has the details."
        )
        try:
            await self._alert(text)
        except Exception:  # the failure is logged already; the alert is a courtesy
            logger.exception("Could not post the alert about the failed %s.", name)

    async def _daily(self, profile: Profile, local: datetime, path: Path) -> Path:
        written = await asyncio.to_thread(self._write, profile, local, path)
        await self._announce(profile, local, written)
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
        try:
            with read(self._engine) as conn:
                write_daily(conn, profile, local.date(), partial, now=self._clock.now())
        except BaseException:
            partial.unlink(missing_ok=True)  # no half-written file left behind
            raise
        partial.replace(path)  # the file appears whole or not at all
        return path

    async def run(self, poll_seconds: float, stop: asyncio.Event) -> None:
        """Tick every `poll_seconds` until `stop` is set; a failed tick is logged and retried.

        The first tick comes one interval after start, so a short-lived app (a test, a
        restart loop) does not write reports or run retention on its way up.
        """
        while not stop.is_set():
            await sleep_unless(stop, poll_seconds)
            if stop.is_set():
                break
            try:
                await self.tick()
            except Exception:  # e.g. the profile could not be read; the jobs catch their own
                logger.exception("Supervision jobs failed; trying again next round.")
