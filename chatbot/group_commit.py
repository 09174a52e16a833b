"""Group commit for SQLite: messages waiting for the writer are committed together.

SQLite takes one writer at a time, so webhook requests queue for the writer thread anyway.
While one batch is being written, the messages that arrive meanwhile wait; the next batch
takes them all and commits them in one transaction, each still its own flow step. Every
request is answered only after the commit that holds its message.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Executor

from chatbot.desk import Desk, Receipt
from chatbot.domain import Inbound

MAX_BATCH = 64  # messages per transaction: bounds the work a rollback and redo repeats


class GroupCommit:
    """Feeds the desk from the event loop in batches, one batch in the writer at a time."""

    def __init__(self, desk: Desk, executor: Executor, *, max_batch: int = MAX_BATCH) -> None:
        self._desk = desk
        self._executor = executor
        self._max_batch = max_batch
        self._waiting: list[tuple[Inbound, asyncio.Future[Receipt]]] = []
        self._pump: asyncio.Task[None] | None = None

    async def receive(self, inbound: Inbound) -> Receipt:
        """Record and answer one message; returns once the transaction holding it committed.

        Raises:
            Exception: whatever `Desk.receive` raises for this message on its own.
        """
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Receipt] = loop.create_future()
        self._waiting.append((inbound, done))
        if self._pump is None:
            self._pump = loop.create_task(self._run())
        return await done

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._waiting:
                batch = self._waiting[: self._max_batch]
                del self._waiting[: self._max_batch]
                try:
                    outcomes = await loop.run_in_executor(
                        self._executor, self._desk.receive_many, [item for item, _ in batch]
                    )
                except Exception as exc:  # the executor itself failed: every request hears it
                    outcomes = [exc] * len(batch)
                for (_, done), outcome in zip(batch, outcomes, strict=True):
                    if done.done():  # the client went away; its message is committed anyway
                        continue
                    if isinstance(outcome, Exception):
                        done.set_exception(outcome)
                    else:
                        done.set_result(outcome)
        finally:
            self._pump = None
