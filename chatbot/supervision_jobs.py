"""Scheduled supervision work: the daily log at the profile's hour, retention, old reports.

The daily log is posted, when configured, to the agents' Telegram group (sendDocument) and/or
the Discord webhook, through any `Poster` (the agent desk's `Notifier.post_file` fits); the
small `post_file` here is the fallback used when none is given.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import Engine

from chatbot.clock import Clock
from chatbot.reports import write_daily
from chatbot.retention import Retention, prune_reports
from flows.profiles.schema import Profile

logger = logging.getLogger(__name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True, slots=True)
class Destinations:
    """Where reports are posted; each one is optional."""

    telegram_token: str | None = None
    telegram_base_url: str = "https://api.telegram.org/bot"
    telegram_chat_id: str | None = None
    discord_webhook_url: str | None = None


# What posts a file: (file name, bytes, caption); the agent desk's Notifier.post_file fits.
Poster = Callable[[str, bytes, str], Awaitable[object]]


async def post_file(name: str, data: bytes, caption: str, to: Destinations) -> list[str]:
    """Post a file to the configured places; returns those that took it. Never raises."""
    done: list[str] = []
    if to.telegram_token and to.telegram_chat_id:
        from chatbot.channels.telegram import close_bot, make_bot

        bot = make_bot(to.telegram_token, to.telegram_base_url, pool_size=1)
        try:
            await bot.send_document(
                chat_id=to.telegram_chat_id, document=data, filename=name, caption=caption
            )
            done.append("telegram")
        except Exception as exc:  # a failed post must not stop the schedule
            logger.warning("Posting %s to Telegram failed: %s", name, exc)
        finally:
            await close_bot(bot)
    if to.discord_webhook_url:
        try:
            async with httpx.AsyncClient(timeout=30) as client:
                answer = await client.post(
                    to.discord_webhook_url,
                    data={"payload_json": json.dumps({"content": caption})},
                    files={"files[0]": (name, data, XLSX)},
                )
            answer.raise_for_status()
            done.append("discord")
        except httpx.HTTPError as exc:
            logger.warning("Posting %s to Discord failed: %s", name, exc)
    return done


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
        destinations: Destinations | None = None,
        poster: Poster | None = None,
    ) -> None:
        self._engine = engine
        self._profile = profile
        self._clock = clock
        self._reports_dir = reports_dir
        destinations = destinations or Destinations()

        async def own_post(name: str, data: bytes, caption: str) -> list[str]:
            return await post_file(name, data, caption, destinations)

        self._post: Poster = poster or own_post
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
                caption = f"{profile.desk_name}: daily log {local.date().isoformat()}"
                data = await asyncio.to_thread(written.read_bytes)
                try:
                    posted = await self._post(written.name, data, caption)
                except Exception as exc:  # the file is written; a post may fail
                    posted = f"nowhere ({exc})"
                logger.info("Daily log %s written; posted: %s.", written.name, posted)
        if (
            self._last_housekeeping is None
            or (now - self._last_housekeeping).total_seconds() >= 3600
        ):
            self._last_housekeeping = now
            await asyncio.to_thread(self._housekeeping, profile, now)
        return written

    def _write(self, profile: Profile, local: datetime, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part")
        with self._engine.connect() as conn:
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
