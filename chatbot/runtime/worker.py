"""`loket worker`: the background work alone (steppers, outbox, clocks, scheduled reports).

`loket serve` runs one as its child; deployments that split web and background across
machines run `loket worker` on as many as they like, against one PostgreSQL database.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal

from chatbot.channels.base import Channel
from chatbot.channels.web import WebChannel
from chatbot.clock import SystemClock
from chatbot.runtime.background import Background
from chatbot.runtime.bootstrap import open_desk_for
from chatbot.runtime.supervisor import exit_with_parent
from chatbot.runtime.wiring import open_channels, open_notifier
from settings import Settings

logger = logging.getLogger(__name__)


async def run_worker(settings: Settings) -> None:
    """Run until SIGTERM or SIGINT; the work in hand is finished and recorded first."""
    clock = SystemClock()
    engine, desk = open_desk_for(settings, clock)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    exit_with_parent()
    try:
        async with open_channels(settings, clock) as built, open_notifier(settings) as notifier:
            channels: dict[str, Channel] = {"web": WebChannel(), **built}
            work = Background(settings, engine, desk, channels, clock)
            work.use_notifier(notifier)
            gc.freeze()  # start-up objects live as long as the process (web_worker.py)
            logger.info("Background worker running (steppers, outbox, clocks).")
            await work.run(stop)
    finally:
        engine.dispose()
