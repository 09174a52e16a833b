"""The background work: steppers, the outbox, clients' files, the clocks, scheduled reports.

One assembly, run by `loket worker` (and by every `loket serve`, as its worker child), and
by the web app's lifespan when asked to (tests, embedding). No web framework is imported.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Mapping
from typing import Any

from sqlalchemy import Engine

from chatbot.agents.agent_desk import AgentDesk
from chatbot.agents.notify import Notifier
from chatbot.campaigns.reports import CaringReports
from chatbot.channels.base import Channel
from chatbot.channels.media import MediaStore
from chatbot.clock import Clock
from chatbot.frontdesk.desk import Desk
from chatbot.frontdesk.media_keeper import MediaKeeper
from chatbot.frontdesk.stepper import Stepper
from chatbot.frontdesk.timers import TimerRunner
from chatbot.runtime.wiring import outbox_dispatcher
from chatbot.supervision.jobs import SupervisionJobs
from settings import Settings


class Background:
    """Everything that runs without a request, built once from the settings."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        desk: Desk,
        channels: Mapping[str, Channel],
        clock: Clock,
    ) -> None:
        self._settings = settings
        self.agents = AgentDesk(engine, desk, clock)
        self.dispatcher = outbox_dispatcher(engine, channels, clock, settings, desk.profile)
        self.stepper = Stepper(desk, settings.database_url, on_stepped=self.dispatcher.wake)
        self.media = MediaKeeper(
            engine, channels, MediaStore(settings.media_dir, settings.max_media_bytes)
        )
        self.timers = TimerRunner(
            engine,
            self.agents,
            clock,
            auto_assign=settings.auto_assign,
            public_url=settings.public_base,
        )
        self._notifier = Notifier()
        self.caring_reports = CaringReports(
            engine, desk.profile, clock, reports_dir=settings.reports_dir
        )
        self.supervision = SupervisionJobs(
            engine,
            desk.profile,
            clock,
            reports_dir=settings.reports_dir,
            media_dir=settings.media_dir,
            poster=lambda name, data, caption: self._notifier.post_file(name, data, caption),
            alert=lambda text: self._notifier.post(text),
        )

    def use_notifier(self, notifier: Notifier) -> None:
        """Post hand-off alerts and scheduled reports through the team's channels."""
        self._notifier = notifier
        self.timers.use_notifier(notifier)

    async def run(self, stop: asyncio.Event, *, outbox: bool = True, timers: bool = True) -> None:
        """Run every loop until `stop` is set; each finishes the work in hand first."""
        settings = self._settings
        loops: list[Coroutine[Any, Any, None]] = [self.stepper.run(stop)]
        if outbox:
            loops.append(self.dispatcher.run(settings.outbox_poll_seconds, stop))
            loops.append(self.media.run(settings.outbox_poll_seconds, stop))
        if timers:
            loops.append(self.timers.run(settings.timers_poll_seconds, stop))
            loops.append(self.supervision.run(settings.supervision_poll_seconds, stop))
            loops.append(self.caring_reports.run(settings.supervision_poll_seconds, stop))
        # A TaskGroup, not gather: if one loop fails, the others are cancelled and close what
        # they hold (the stepper's LISTEN connection) instead of running on unawaited.
        async with asyncio.TaskGroup() as group:
            for loop in loops:
                group.create_task(loop)
