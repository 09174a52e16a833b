"""Webhook messages parsed and stepped in a child process: HTTP on one core, the desk on another.

One Python process runs Python on one CPU core at a time. Under load `loket serve` spends
as much CPU on HTTP as on parsing Telegram updates and the flow step with its SQLite
transaction, so with SQLite the group commit's batches run in a child process that opens
its own desk on the same database. A batch crosses as pickled deliveries (checked Telegram
bodies, parsed Twilio messages) one way and receipts the other, a few µs a message. Each
request is still answered only after the child committed its messages, so nothing
acknowledged is lost if either process dies: a dead child is started again and the requests
it held are answered 503 (the provider sends them again). `_open` is the child's
composition root: it reads the settings to build the desk and the Telegram parser.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from chatbot.bootstrap import open_desk_for
from chatbot.channels.base import Channel
from chatbot.channels.telegram import TelegramChannel, make_bot
from chatbot.clock import SystemClock
from chatbot.desk import Desk
from chatbot.errors import DeskUnavailable
from chatbot.group_commit import Delivery, Outcome, record
from settings import Settings

logger = logging.getLogger(__name__)

# The child's desk and parsers, opened once by _open when the child starts.
_desk: Desk | None = None
_channels: dict[str, Channel] = {}


def _open(settings: Settings) -> None:
    global _desk  # one desk per child process
    _desk = open_desk_for(settings, SystemClock())[1]
    if settings.telegram_token and settings.telegram_secret:  # parses only: never sends
        bot = make_bot(settings.telegram_token.get_secret_value(), settings.telegram_base_url)
        _channels["telegram"] = TelegramChannel(
            bot,
            settings.telegram_secret.get_secret_value(),
            allow_groups=settings.telegram_allow_groups,
        )
    gc.freeze()  # start-up objects out of every collection (cli.py: LONG_RUNNING_GC)


def _ready() -> bool:
    return _desk is not None


def _record(batch: list[Delivery]) -> list[Outcome]:
    assert _desk is not None  # opened by the pool's initializer
    return [_portable(outcome) for outcome in record(_desk, _channels, batch)]


def _portable(outcome: Outcome) -> Outcome:
    """The outcome, or for an exception that cannot be pickled, a RuntimeError saying it."""
    if not isinstance(outcome, Exception):
        return outcome
    try:
        pickle.dumps(outcome)
    except Exception:
        return RuntimeError(f"{type(outcome).__name__}: {outcome}")
    return outcome


class DeskProcess:
    """A child process with its own desk, fed one batch at a time by the group commit."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._pool: ProcessPoolExecutor | None = None

    async def start(self) -> None:
        """Start the child and wait until its desk is open (imports, profiles, phrases)."""
        self._pool = ProcessPoolExecutor(
            max_workers=1,
            # spawn: the parent runs threads (event loop, database writer) that fork would copy
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_open,
            initargs=(self._settings,),
        )
        await asyncio.get_running_loop().run_in_executor(self._pool, _ready)

    async def record(self, batch: list[Delivery]) -> list[Outcome]:
        """Each delivery's Recorded or exception, once the child committed the batch.

        Raises:
            DeskUnavailable: the child died with this batch (restarted for the next one).
        """
        pool = self._pool
        if pool is None:
            raise DeskUnavailable("the desk process is not running")
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, _record, batch)
        except BrokenProcessPool as exc:
            logger.error("The desk process died; starting it again.")
            if self._pool is pool:
                pool.shutdown(wait=False)
                await self.start()
            raise DeskUnavailable("the desk process restarted; send the message again") from exc

    @property
    def pid(self) -> int | None:
        """The child's process id, once started (for logs and for tests that kill it)."""
        processes = getattr(self._pool, "_processes", None) or {}
        return next(iter(processes), None)

    def stop(self) -> None:
        """Let the batch in flight finish, then end the child."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
