"""Ingress in a web worker: the messages of requests arriving together share one commit.

Every request waits for its own messages' commit before it answers, so nothing acknowledged
is lost. While one transaction is being written, requests that arrive queue here; the next
transaction takes them all (group commit): one BEGIN and one COMMIT (one fsync, one NOTIFY on
PostgreSQL) for many webhooks, in arrival order. If a shared transaction fails, each
request's messages are written again on their own, so one bad message fails only its own
request. Nothing here knows a channel: it stores `Inbound`s.

The transactions run on the event loop itself, like the background's (db/turns.py): a
writer thread cost the web worker 20-30% more CPU per webhook in GIL hand-offs
(docs/decisions/0009-speed-tricks-and-what-each-bought.md). The loop waits for SQLite's
write lock meanwhile, which the background gives up within about 5 ms (a step batch's
limit), and requests arriving meanwhile join the next batch.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

from chatbot.domain import Inbound

MAX_BATCH = 256  # messages per shared transaction: bounds the work a failed batch redoes

Accept = Callable[[list[Inbound]], list[bool]]


class IngressWriter:
    """Writes requests' messages to the inbox through `accept`, batched, in arrival order."""

    def __init__(self, accept: Accept) -> None:
        self._accept = accept
        self._waiting: deque[tuple[list[Inbound], asyncio.Future[list[bool]]]] = deque()
        self._writing = False
        self._drainer: asyncio.Task[None] | None = None  # held: the loop keeps only weak ones

    async def write(self, inbounds: list[Inbound]) -> list[bool]:
        """Store the messages; returns, per message, whether it was new, once committed.

        Raises:
            Exception: what `accept` raised for these messages written on their own.
        """
        if not inbounds:
            return []
        done: asyncio.Future[list[bool]] = asyncio.get_running_loop().create_future()
        self._waiting.append((inbounds, done))
        if not self._writing:
            self._writing = True
            self._drainer = asyncio.get_running_loop().create_task(self._drain())
        return await done

    async def _drain(self) -> None:
        try:
            while self._waiting:
                await asyncio.sleep(0)  # requests already read join this batch first
                batch, size = [], 0
                while self._waiting and size < MAX_BATCH:
                    item = self._waiting.popleft()
                    batch.append(item)
                    size += len(item[0])
                outcomes = self._write_batch(batch)
                for (_, done), outcome in zip(batch, outcomes, strict=True):
                    if done.done():  # the client went away; its messages are stored anyway
                        continue
                    if isinstance(outcome, BaseException):
                        done.set_exception(outcome)
                    else:
                        done.set_result(outcome)
        finally:
            self._writing = False

    def _write_batch(
        self, batch: list[tuple[list[Inbound], asyncio.Future[list[bool]]]]
    ) -> list[list[bool] | BaseException]:
        if len(batch) > 1:
            try:
                fresh = self._accept([i for inbounds, _ in batch for i in inbounds])
            except Exception:  # noqa: S110  # written again one request at a time below
                pass
            else:
                outcomes: list[list[bool] | BaseException] = []
                start = 0
                for inbounds, _ in batch:
                    outcomes.append(fresh[start : start + len(inbounds)])
                    start += len(inbounds)
                return outcomes
        outcomes = []
        for inbounds, _ in batch:
            try:
                outcomes.append(self._accept(inbounds))
            except Exception as exc:  # that request hears it (5xx: the provider retries)
                outcomes.append(exc)
        return outcomes
