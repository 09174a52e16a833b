"""Group commit for SQLite: messages waiting for the writer are committed together.

SQLite takes one writer at a time, so webhook requests queue for the writer anyway. While
one batch is being written, the deliveries that arrive meanwhile wait; the next batch takes
them all and commits them in one transaction, each message still its own flow step. Every
request is answered only after the commit that holds its messages.

The writer is a thread of this process, or the desk process (chatbot/desk_process.py). A
Telegram update travels to it as the body whose secret token was checked, and is parsed
there with `Update.de_json`: parsing costs about as much CPU as the flow step, and in the
desk process it runs on the other core.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass

from chatbot.channels.base import Channel, RawRequest
from chatbot.channels.telegram import TelegramChannel
from chatbot.desk import Desk, Receipt
from chatbot.domain import Inbound
from chatbot.errors import UnknownChannel

MAX_BATCH = 64  # deliveries per transaction: bounds the work a rollback and redo repeats


@dataclass(frozen=True, slots=True)
class TelegramBody:
    """A Telegram webhook body whose secret token was checked; the writer parses it."""

    body: bytes


Delivery = Inbound | TelegramBody


@dataclass(frozen=True, slots=True)
class Recorded:
    """A delivery committed: each message's receipt, and Telegram's in-response answer."""

    receipts: list[Receipt]
    answer: dict[str, object] | None = None


Outcome = Recorded | Exception
# Records a batch in one transaction: each delivery's Recorded, or the exception it raised.
BatchWriter = Callable[[list[Delivery]], Awaitable[list[Outcome]]]


def record(desk: Desk, channels: Mapping[str, Channel], batch: list[Delivery]) -> list[Outcome]:
    """Parse what needs parsing, then receive every message of the batch in one transaction.

    A delivery that cannot be parsed, or one of whose messages failed, gets its exception;
    the others are unaffected (Desk.receive_many redoes a failed batch one by one).
    """
    parsed: list[list[Inbound] | Exception] = [_parse(channels, item) for item in batch]
    flat = [inbound for item in parsed if not isinstance(item, Exception) for inbound in item]
    outcomes = iter(desk.receive_many(flat) if flat else [])
    telegram = channels.get("telegram")
    results: list[Outcome] = []
    for item, inbounds in zip(batch, parsed, strict=True):
        if isinstance(inbounds, Exception):
            results.append(inbounds)
            continue
        mine = [next(outcomes) for _ in inbounds]
        failed = next((o for o in mine if isinstance(o, Exception)), None)
        if failed is not None:
            results.append(failed)
            continue
        receipts = [o for o in mine if isinstance(o, Receipt)]
        answer = (
            telegram.webhook_answer(inbounds)
            if isinstance(item, TelegramBody) and isinstance(telegram, TelegramChannel)
            else None
        )
        results.append(Recorded(receipts, answer))
    return results


def _parse(channels: Mapping[str, Channel], item: Delivery) -> list[Inbound] | Exception:
    if isinstance(item, Inbound):
        return [item]
    telegram = channels.get("telegram")
    if telegram is None:
        return UnknownChannel("the telegram channel is not configured on this installation")
    try:
        return telegram.parse(RawRequest(url="", headers={}, body=item.body))
    except Exception as exc:  # MalformedPayload: that request hears it, the batch goes on
        return exc


def in_thread(desk: Desk, channels: Mapping[str, Channel], executor: Executor) -> BatchWriter:
    """Batches written on the executor's thread (the desk process is the other writer)."""

    def write(batch: list[Delivery]) -> Awaitable[list[Outcome]]:
        return asyncio.get_running_loop().run_in_executor(executor, record, desk, channels, batch)

    return write


class GroupCommit:
    """Feeds the writer from the event loop in batches, `depth` batches handed over at a time.

    The writer takes batches in order, one at a time. With two handed over, the next batch
    is already waiting when one commits, so the writer does not sit idle while this process
    answers the last batch's requests and passes on the next (the desk process measured
    5.6 ms idle for 1.9 ms of work between batches with one at a time).
    """

    def __init__(self, write: BatchWriter, *, max_batch: int = MAX_BATCH, depth: int = 2) -> None:
        self._write = write
        self._max_batch = max_batch
        self._depth = depth
        self._in_flight = 0
        self._waiting: list[tuple[Delivery, asyncio.Future[Recorded]]] = []

    async def receive(self, delivery: Delivery) -> Recorded:
        """Record and answer one delivery; returns once the transaction holding it committed.

        Raises:
            Exception: whatever parsing or `Desk.receive` raised for this delivery on its own.
        """
        done: asyncio.Future[Recorded] = asyncio.get_running_loop().create_future()
        self._waiting.append((delivery, done))
        self._hand_over()
        return await done

    def _hand_over(self) -> None:
        while self._waiting and self._in_flight < self._depth:
            batch = self._waiting[: self._max_batch]
            del self._waiting[: self._max_batch]
            self._in_flight += 1
            asyncio.get_running_loop().create_task(self._commit(batch))

    async def _commit(self, batch: list[tuple[Delivery, asyncio.Future[Recorded]]]) -> None:
        try:
            outcomes = await self._write([item for item, _ in batch])
        except Exception as exc:  # the writer itself failed: every request hears it
            outcomes = [exc] * len(batch)
        finally:
            self._in_flight -= 1
        for (_, done), outcome in zip(batch, outcomes, strict=True):
            if done.done():  # the client went away; its message is committed anyway
                continue
            if isinstance(outcome, Exception):
                done.set_exception(outcome)
            else:
                done.set_result(outcome)
        self._hand_over()
