"""The stepper: takes chats with accepted messages from the inbox and steps them, in order.

Any number run side by side (one per `loket worker` or `loket serve`), on one machine or
many: `Desk.step_pending` claims chats with FOR UPDATE SKIP LOCKED on PostgreSQL, and on
SQLite the database's one writer serialises them. A stepper sleeps until PostgreSQL says
(LISTEN/NOTIFY) that ingress committed something; on SQLite until the file's data version
moves (another connection committed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import select
import sqlite3
import time
from collections.abc import Callable, Iterator
from typing import Any

from chatbot.clock import sleep_unless
from chatbot.frontdesk.desk import Desk
from db.inbox_queries import NOTIFY_CHANNEL
from db.turns import in_turn

logger = logging.getLogger(__name__)

IDLE_POLL_SECONDS = 0.01  # SQLite: how often an idle stepper asks whether anyone committed
LISTEN_FALLBACK_SECONDS = 0.25  # look anyway this often, in case a wake-up was missed
ERROR_PAUSE_SECONDS = 1.0


class Stepper:
    """Runs `Desk.step_pending` whenever there is work, until stopped."""

    def __init__(
        self,
        desk: Desk,
        database_url: str,
        *,
        poll_seconds: float = IDLE_POLL_SECONDS,
        on_stepped: Callable[[], None] | None = None,
    ) -> None:
        self._desk = desk
        self._url = database_url
        self._poll = poll_seconds
        self._on_stepped = on_stepped  # e.g. wake this process's outbox dispatcher

    async def run(self, stop: asyncio.Event) -> None:
        """Step until `stop` is set; the batch in hand is finished and committed first."""
        await in_turn(self._desk.warm_up)
        with self._listener() as wait_for_notice:
            while not stop.is_set():
                try:
                    stepped = await in_turn(self._desk.step_pending)
                except Exception:
                    logger.exception("Stepping failed; trying again shortly.")
                    await sleep_unless(stop, ERROR_PAUSE_SECONDS)
                    continue
                if stepped:
                    if self._on_stepped is not None:
                        self._on_stepped()
                    continue
                # Waiting blocks, so it goes to a thread: the loop stays free for the sends.
                await asyncio.to_thread(wait_for_notice, LISTEN_FALLBACK_SECONDS, stop)

    @contextlib.contextmanager
    def _listener(self) -> Iterator[Callable[[float, asyncio.Event], None]]:
        """A way to sleep until another connection may have committed an inbox row.

        PostgreSQL: LISTEN for ingress's NOTIFY. SQLite: watch `PRAGMA data_version`, which
        changes when another connection commits (microseconds, no transaction, no lock).
        """
        if not self._url.startswith("postgresql"):
            with self._data_version_watch() as watch:
                yield watch
            return
        import psycopg  # only with the postgres extra, only on PostgreSQL
        from sqlalchemy.engine import make_url

        url = make_url(self._url).set(drivername="postgresql")
        dsn = url.render_as_string(hide_password=False)
        held: list[Any] = []  # the LISTEN connection; opened again if the server drops it

        def listening() -> Any:
            if not held:
                conn = psycopg.connect(dsn, autocommit=True)
                conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                held.append(conn)
            return held[0]

        def wait(seconds: float, stop: asyncio.Event) -> None:
            # Readable socket = a notification, or the server went away. Drain without
            # blocking; a lost connection is dropped, and the next wait opens a new one
            # (meanwhile the short sleep below stands in for the wake-ups).
            try:
                conn = listening()
                select.select([conn.fileno()], [], [], seconds)
                for _ in conn.notifies(timeout=0):
                    pass
            except psycopg.Error as exc:
                logger.warning("The stepper's LISTEN connection failed (%s); reopening it.", exc)
                for conn in held:
                    with contextlib.suppress(psycopg.Error):
                        conn.close()
                held.clear()
                if not stop.is_set():
                    time.sleep(min(seconds, ERROR_PAUSE_SECONDS))

        listening()  # at start a refused connection is an error worth stopping for
        try:
            yield wait
        finally:
            for conn in held:
                conn.close()

    @contextlib.contextmanager
    def _data_version_watch(self) -> Iterator[Callable[[float, asyncio.Event], None]]:
        from sqlalchemy.engine import make_url

        path = make_url(self._url).database or ":memory:"
        conn = sqlite3.connect(path, check_same_thread=False)
        seen = [conn.execute("PRAGMA data_version").fetchone()[0]]
        try:

            def wait(seconds: float, stop: asyncio.Event) -> None:
                # `seen` outlives the call: a commit made while the stepper was stepping
                # ends the next wait at once instead of being missed.
                deadline = time.monotonic() + seconds
                while time.monotonic() < deadline and not stop.is_set():
                    version = conn.execute("PRAGMA data_version").fetchone()[0]
                    if version != seen[0]:
                        seen[0] = version
                        return
                    time.sleep(self._poll)

            yield wait
        finally:
            conn.close()
