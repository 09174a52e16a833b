"""Durable delivery: send what the desk wrote to the outbox, in order per chat, with retries.

Campaign messages (chatbot/campaigns/sending.py) leave through the same dispatcher and
channel sends, each result recorded as it returns. Also the agent console's "send again"
for a reply that failed for good (`send_again`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Generic, Literal, TypeVar

from sqlalchemy import Connection, Engine

from chatbot.campaigns.sending import (
    CampaignFeed,
    CampaignSend,
    SendResult,
    record_campaign_delivery,
)
from chatbot.channels.base import Channel
from chatbot.clock import Clock
from chatbot.domain import DeliveryReport, OutboundMessage, OutButton
from chatbot.errors import NotAllowed, RetryLater, SendFailed
from chatbot.frontdesk.files import FileShelf
from db import queries
from db.engine import as_utc, read
from db.turns import in_turn

logger = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)  # default: a claimed reply is not sent again by others before this
BACKOFF_CAP_SECONDS = 300.0  # retries of one reply are at most five minutes apart
DEFAULT_DEADLINE = timedelta(hours=24)  # for a channel given no deadline of its own
CHAT_MEMORY_SECONDS = 60.0  # per-chat send times older than this are forgotten
CAMPAIGN_CHUNK = 8  # campaign recipients are claimed when at least this much room is free
CAMPAIGN_CONCURRENCY = 32  # campaign sends claimed and not yet recorded, at most


def worker_name(pid: int | None = None) -> str:
    """A process (this one by default) as leases name it: host:pid, 64 characters at most.

    Unique among live workers; `bench.faults` names a worker it killed the same way.
    """
    return f"{socket.gethostname()[:50]}:{os.getpid() if pid is None else pid}"


T = TypeVar("T")
Item = Mapping[str, Any]  # an outbox row as db/queries.py reads it (list_due_outbox)


@dataclass(frozen=True, slots=True)
class RateLimit:
    """How fast one channel may send: overall and to any one chat (None: no limit)."""

    per_second: float | None = None
    per_chat_per_second: float | None = None


class _Bucket:
    """A token bucket: `rate` sends a second on average, bursts up to one second's worth."""

    def __init__(self, rate: float) -> None:
        self._rate = rate
        self._capacity = max(1.0, rate)
        self._tokens = self._capacity
        self._last: float | None = None

    def take(self, now: float) -> bool:
        if self._last is not None:
            self._tokens = min(self._capacity, self._tokens + (now - self._last) * self._rate)
        self._last = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True


class RateLimiter:
    """Per-channel and per-chat spacing, in this process's memory.

    Only pacing lives here, never a reply: a restart forgets the pace, not the outbox.
    """

    def __init__(
        self,
        limits: Mapping[str, RateLimit],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limits = dict(limits)
        self._buckets = {
            name: _Bucket(limit.per_second)
            for name, limit in self._limits.items()
            if limit.per_second
        }
        self._chat_next: dict[tuple[str, str], float] = {}
        self._monotonic = monotonic
        self._last_prune = monotonic()

    def allow(self, channel: str, chat_id: str) -> bool:
        """Whether a reply to this chat may leave now; if so, its send is counted."""
        now = self._monotonic()
        self._prune(now)
        key = (channel, chat_id)
        if self._chat_next.get(key, 0.0) > now:
            return False
        bucket = self._buckets.get(channel)
        if bucket is not None and not bucket.take(now):
            return False
        limit = self._limits.get(channel)
        if limit is not None and limit.per_chat_per_second:
            self._chat_next[key] = now + 1.0 / limit.per_chat_per_second
        return True

    def _prune(self, now: float) -> None:
        if now - self._last_prune < CHAT_MEMORY_SECONDS:
            return
        self._last_prune = now
        self._chat_next = {k: t for k, t in self._chat_next.items() if t > now}


def backoff_seconds(attempts: int) -> float:
    """1, 2, 4 ... seconds after the first, second, third failed try, then every five minutes.

    Capped rather than growing on: after an outage of any length a reply leaves within five
    minutes of the provider coming back.
    """
    return min(BACKOFF_CAP_SECONDS, 2.0 ** min(max(0, attempts - 1), 16))


class GroupCommit(Generic[T]):
    """Send results written together: those that return while one write runs go in the next.

    A result waits at most one write, and a write costs far less than one per send (on
    SQLite every write transaction queues for the database's one write lock). Campaign
    sends use it; a reply's result gets its own write at once, since a kill before the
    write sends that reply again (tests/test_faults.py holds that to the sends in flight).
    """

    def __init__(self, write: Callable[[list[T]], Awaitable[None]]) -> None:
        self._write = write
        self._waiting: list[tuple[T, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def put(self, item: T) -> None:
        """Return once `item` is committed; raises what its batch's write raised."""
        done = asyncio.get_running_loop().create_future()
        self._waiting.append((item, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain())
        await done

    async def _drain(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                await self._write([item for item, _ in batch])
            except Exception as exc:
                for _, done in batch:
                    done.set_exception(exc)
            else:
                for _, done in batch:
                    done.set_result(None)


class OutboxDispatcher:
    """Sends due replies through their channel; a reply that finally fails is marked, not lost.

    Temporary trouble (429, 5xx, the network) is retried with capped back-off until the reply's
    channel deadline has passed, counted from when the reply was written, so an outage of
    minutes or hours only delays replies. A refusal for good (SendFailed) is marked failed at
    once with the provider's reason. Its transactions run on the event loop itself, each
    short, with a turn for the sends after each (db/turns.py).
    """

    def __init__(
        self,
        engine: Engine,
        channels: Mapping[str, Channel],
        clock: Clock,
        *,
        deadlines: Mapping[str, timedelta] | None = None,
        batch: int = 100,
        limits: Mapping[str, RateLimit] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        concurrency: int = 8,
        campaigns: CampaignFeed | None = None,
        campaign_concurrency: int = CAMPAIGN_CONCURRENCY,
        lease: timedelta = LEASE,
        files: FileShelf | None = None,
    ) -> None:
        self._engine = engine
        self._files = files  # agents' files (a reply whose kind is not text carries one)
        self._channels = channels
        self._clock = clock
        self._deadlines = dict(deadlines or {})  # per channel; others get DEFAULT_DEADLINE
        self._batch = batch
        self._lease_for = lease  # a claimed reply is not sent again by others before this
        self._owner = worker_name()  # kept with each lease: whose it is
        self._limiter = RateLimiter(limits or {}, monotonic)
        self._concurrency = concurrency  # sends in flight at once; make_bot's pool matches
        self._sending: asyncio.Semaphore | None = None
        self._wake: asyncio.Event | None = None
        self._stop: asyncio.Event | None = None  # run's: once set, a chat's next reply waits
        self._campaigns = campaigns
        # Campaign sends have their own limit, so a campaign never holds back the replies.
        self._campaign_concurrency = campaign_concurrency
        self._campaign_sending: asyncio.Semaphore | None = None
        self._campaign_results = GroupCommit[SendResult](partial(in_turn, self._record_sends))

    async def run(self, poll_seconds: float, stop: asyncio.Event) -> None:
        """Dispatch until `stop` is set; a failing claim is logged, never fatal.

        Sends do not go in rounds: whenever one returns, the chat's next reply (and anything
        new) is claimed at once, so a send the provider sits on delays only its own chat.
        The sends in flight are finished before returning, so a graceful shutdown leaves no
        reply sent but unmarked (which would be sent again after the restart).

        Replies and campaign recipients are claimed only as fast as they can leave: at
        most `concurrency` chats' replies and `campaign_concurrency` recipients are claimed
        and not yet recorded at any time. So a hard kill delays and may send again at most
        that many, another worker's dispatcher takes the rest, and no lease runs out while
        its send waits its turn.
        """
        wake = self._wake = asyncio.Event()
        self._stop = stop
        replies: set[asyncio.Task[int]] = set()
        campaign_sends: set[asyncio.Task[None]] = set()
        # Replies are claimed again only when new ones may be due: at start, on a wake-up
        # or a tick, after a claim that found some, or when one of them was sent (the chat's
        # next reply). A campaign send returning says nothing about replies, and at hundreds
        # of sends a second a query for them each time was a tenth of the worker's CPU.
        look_for_replies = True
        # Campaign recipients likewise: with no campaign running, asking after every reply
        # round cost more than the claims themselves; a new campaign starts within a tick.
        look_for_sends = True
        while not stop.is_set():
            claimed: list[Item] = []
            room = self._concurrency - len(replies)  # a chat's line sends one at a time
            if look_for_replies and room > 0:
                try:
                    claimed = await in_turn(self._claim, room)
                except Exception:
                    logger.exception("Claiming outbox replies failed; retrying on the next tick.")
            replies.update(asyncio.create_task(self._send_and_record(i)) for i in claimed)
            look_for_replies = bool(claimed)
            sends: list[CampaignSend] = []
            campaign_sends = {task for task in campaign_sends if not task.done()}
            room = self._campaign_concurrency - len(campaign_sends)
            if (
                look_for_sends
                and self._campaigns is not None
                and room >= min(CAMPAIGN_CHUNK, self._campaign_concurrency)
            ):
                try:
                    sends = await in_turn(self._campaigns.claim, room, self._channels.keys())
                except Exception:
                    logger.exception("Claiming campaign recipients failed; retrying later.")
            campaign_sends |= {asyncio.create_task(self._send_campaign(i)) for i in sends}
            look_for_sends = bool(sends) or bool(campaign_sends)
            if claimed or sends:
                continue
            woken = asyncio.create_task(wake.wait())
            stopped = asyncio.create_task(stop.wait())
            done, _ = await asyncio.wait(
                {woken, stopped, *replies, *campaign_sends},
                timeout=poll_seconds,
                return_when=asyncio.FIRST_COMPLETED,
            )
            woken.cancel()
            stopped.cancel()
            wake.clear()
            look_for_replies = not done or woken in done or not done.isdisjoint(replies)
            look_for_sends = look_for_sends or not done or not done.isdisjoint(campaign_sends)
            replies = {task for task in replies if not task.done()}
        await asyncio.gather(*replies, *campaign_sends)

    @property
    def concurrency(self) -> int:
        """Reply sends under way at once, at most; as many replies are leased, no more."""
        return self._concurrency

    def wake(self) -> None:
        """New replies were written in this process (the stepper): look now, not at the tick."""
        if self._wake is not None:
            self._wake.set()

    async def dispatch_once(self) -> int:
        """Send every chat's due replies, in order; returns how many were tried.

        One round, driven by hand (tests, benchmarks); `run` claims the same way, continuously.

        One transaction claims the head reply of each chat; each send's outcome is then
        recorded in its own short transaction the moment that send returns, not after the
        whole round, and that transaction leases the chat's next reply. So a hard kill
        (SIGKILL, power loss) sends again only the replies in flight, at most one per chat,
        since a chat's replies are leased one at a time. The sends run at most
        `concurrency` at a time, so the HTTP pool never queues (httpx's pool housekeeping
        grows with the square of its connections).
        """
        claimed = await in_turn(self._claim)
        sends: list[CampaignSend] = []
        if self._campaigns is not None and len(claimed) < self._batch:
            room = min(self._batch - len(claimed), self._campaign_concurrency)
            sends = await in_turn(self._campaigns.claim, room, self._channels.keys())
        campaign = asyncio.gather(*(self._send_campaign(send) for send in sends))
        tried = await asyncio.gather(*(self._send_and_record(item) for item in claimed))
        await campaign
        return sum(tried) + len(sends)

    def _claim(self, limit: int | None = None) -> list[Item]:
        """Lease the due heads of the chats' outbox lines.

        They are looked up in a read, which waits for no writer; the write transaction only
        leases them, each with an UPDATE that fails if someone sent or leased it meanwhile.
        """
        now = self._clock.now()
        with read(self._engine) as conn:
            due = queries.list_due_outbox(conn, now=now, limit=limit or self._batch)
        if not due:
            return []
        with self._engine.begin() as conn:
            return [item for item in due if self._lease(conn, item, now)]

    def _lease(self, conn: Connection, item: Item, now: datetime) -> bool:
        """Lease a due reply if its pace allows it now; False if not, or someone else did."""
        return self._limiter.allow(item["channel"], item["chat_id"]) and queries.claim_outbox(
            conn,
            item_id=item["id"],
            due_at=item["due_at"],
            until=now + self._lease_for,
            owner=self._owner,
        )

    async def _send_and_record(self, item: Item) -> int:
        """A chat's replies, one at a time: send, store what became of it, go on with the next.

        The write that stores a send's outcome also leases the chat's next reply when it is
        due, so a chat with several replies waiting costs no claim per reply. Returns how
        many were sent or tried.
        """
        tried = 0
        following: Item | None = item
        while following is not None:
            item, tried = following, tried + 1
            outcome = await self._deliver(item)
            go_on = self._stop is None or not self._stop.is_set()  # stopping: leave it be
            try:
                following = await in_turn(self._record, outcome, go_on)
            except Exception:  # the reply stays leased: it is tried again when the lease ends
                logger.exception(
                    "Case %s: could not record that message %s came to %s (%s).",
                    item["case_id"],
                    item["message_id"],
                    outcome.kind,
                    outcome.detail,
                )
                following = None
        return tried

    async def _send_campaign(self, send: CampaignSend) -> None:
        """One campaign message: the template through its channel, then its result stored."""
        message = OutboundMessage(
            channel=send.channel,
            chat_id=send.chat_id,
            text=send.text,
            template=None if send.text else send.template,
            template_variables=None if send.text else send.variables,
        )
        if self._campaign_sending is None:
            self._campaign_sending = asyncio.Semaphore(self._campaign_concurrency)
        async with self._campaign_sending:
            kind, detail, wait, code = await self._attempt(message, send.attempts, limit=False)
        try:
            await self._campaign_results.put((send, kind, detail, wait, code))
        except Exception:  # the recipient stays leased: it is tried again when the lease ends
            logger.exception(
                "Campaign %s: could not record the send to recipient %s (%s: %s).",
                send.campaign_id,
                send.recipient_id,
                kind,
                detail,
            )

    def _record_sends(self, results: list[SendResult]) -> None:
        assert self._campaigns is not None  # campaign sends come from the campaign feed
        self._campaigns.record(results)

    async def _attempt(
        self, message: OutboundMessage, attempts: int, *, limit: bool = True
    ) -> tuple[Literal["sent", "retry", "failed"], str, float, int | None]:
        """Send once: (what came of it, provider id or error, seconds to wait, error code).

        `limit`: wait for one of the replies' `concurrency` places (campaigns have theirs).
        """
        channel = self._channels.get(message.channel)
        if self._sending is None:
            self._sending = asyncio.Semaphore(self._concurrency)
        try:
            if channel is None:
                raise SendFailed(f"channel '{message.channel}' is not configured")
            if limit:
                async with self._sending:
                    provider_id = await channel.send(message)
            else:
                provider_id = await channel.send(message)
        except RetryLater as exc:  # a provider's retry_after wins when it is the longer wait
            return "retry", str(exc), max(exc.seconds, backoff_seconds(attempts)), None
        except SendFailed as exc:
            return "failed", str(exc), 0.0, getattr(exc, "code", None)
        except Exception as exc:  # an unexpected error must not lose the message
            logger.exception("Sending a %s message raised.", message.channel)
            return "retry", repr(exc), backoff_seconds(attempts), None
        return "sent", provider_id, 0.0, None

    async def _deliver(self, item: Item) -> _Outcome:
        attempts = int(item["attempts"]) + 1
        buttons = tuple(
            OutButton(b["payload"], b["label"]) for b in json.loads(item["buttons_json"] or "[]")
        )
        file = None
        if item["kind"] != "text":
            if self._files is not None:
                file = await in_turn(self._files.out_file, item["message_id"])
            if file is None:
                return _Outcome(item, "failed", "the file to send is no longer kept", 0.0)
        message = OutboundMessage(
            channel=item["channel"],
            chat_id=item["chat_id"],
            text=item["text"],
            buttons=buttons,
            message_id=item["message_id"],
            client_wrote_at=as_utc(item["client_wrote_at"]),
            file=file,
        )
        kind, detail, wait, _code = await self._attempt(message, attempts)
        return _Outcome(item, kind, detail, wait)

    def _record(self, outcome: _Outcome, lease_next: bool = True) -> Item | None:
        """Store one send's outcome in its own transaction: sent, retried later, or failed.

        A retry that would fall after the reply's deadline is not scheduled: the reply is
        marked failed with the last error, and the chat's later replies go on. Once a reply
        is sent or failed, the chat's next reply is leased in the same write and returned
        when it is due and `lease_next` (None otherwise: a claim finds it when it is).
        """
        item = outcome.item
        now = self._clock.now()
        attempts = int(item["attempts"]) + 1
        error = outcome.detail
        with self._engine.begin() as conn:
            if outcome.kind == "sent":
                queries.mark_sent(conn, item_id=item["id"], provider_id=outcome.detail, now=now)
                return self._lease_next(conn, item, now) if lease_next else None
            if outcome.kind == "retry":
                since = as_utc(item["updated_at"] or item["created_at"])
                assert since is not None  # created_at is NOT NULL
                due_at = now + timedelta(seconds=outcome.wait)
                if due_at <= since + self._deadlines.get(item["channel"], DEFAULT_DEADLINE):
                    logger.warning(
                        "Case %s: message %s will be retried in %.0fs (%s).",
                        item["case_id"],
                        item["message_id"],
                        outcome.wait,
                        error,
                    )
                    queries.mark_retry(
                        conn, item_id=item["id"], attempts=attempts, due_at=due_at, error=error
                    )
                    return None
                error = f"gave up after {attempts} attempts in {_span(now - since)}: {error}"
            logger.error(
                "Case %s: message %s failed for good: %s",
                item["case_id"],
                item["message_id"],
                error,
            )
            queries.mark_failed(conn, item_id=item["id"], error=error, now=now)
            # An event as well: the consoles' live feed names the case (it watches new
            # message and event ids), so the failed reply and its "send again" show at once.
            queries.record_events(
                conn,
                case_id=item["case_id"],
                events=[queries.EventRow("send_failed", "outbox", error[:200])],
                now=now,
            )
            return self._lease_next(conn, item, now) if lease_next else None

    def _lease_next(self, conn: Connection, done: Item, now: datetime) -> Item | None:
        """The chat's next reply, leased, if it is due and its pace allows it now."""
        head = queries.head_of_chat(conn, channel=done["channel"], chat_id=done["chat_id"])
        due_at = None if head is None else as_utc(head["due_at"])
        if head is None or due_at is None or due_at > now:
            return None
        return head if self._lease(conn, head, now) else None


def _span(delta: timedelta) -> str:
    """A duration for people: `45s`, `12m`, `23h 58m`."""
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h {seconds % 3600 // 60}m"


@dataclass(frozen=True, slots=True)
class _Outcome:
    """What one send attempt came to: sent (detail = provider id), retry or failed."""

    item: Item
    kind: Literal["sent", "retry", "failed"]
    detail: str
    wait: float = 0.0


def send_again(
    engine: Engine, *, case_id: int, message_id: int, actor: str, now: datetime
) -> None:
    """Put a reply that failed for good back in the outbox, due now (the console's button).

    For when the cause is gone: the client unblocked the bot or wrote again, the provider
    is back. The reply gets a fresh deadline and back-off and becomes its chat's head again,
    ahead of replies written after it. Its old error moves from the message to the case's
    event log, so the transcript shows the new attempt and the history keeps the failure.

    Raises:
        NotAllowed: the case has no failed reply with that id (sent again already, or it
            never failed).
    """
    with engine.begin() as conn:
        error = queries.requeue_failed(conn, case_id=case_id, item_id=message_id, now=now)
        if error is None:
            raise NotAllowed(f"message {message_id} is not a failed reply of case {case_id}")
        detail = f"message {message_id}, which had failed: {error or 'no reason given'}"
        queries.record_events(
            conn, case_id=case_id, events=[queries.EventRow("resent", actor, detail)], now=now
        )
    logger.info("Case %s: %s sent message %s again.", case_id, actor, message_id)


def record_delivery(
    engine: Engine, report: DeliveryReport, *, channels: tuple[str, ...], clock: Clock
) -> bool:
    """Store a provider's status callback on the reply or campaign message it concerns.

    Returns False if none matched (or the status was older than what is stored).

    Raises:
        sqlalchemy.exc.OperationalError: the database is unreachable (the provider retries).
    """
    with engine.begin() as conn:
        changed = queries.update_delivery(
            conn,
            provider_id=report.provider_id,
            channels=channels,
            status=report.status,
            error=report.error,
            now=clock.now(),
        )
        if not changed:
            changed = record_campaign_delivery(conn, report, now=clock.now())
    if report.status == "failed":
        logger.warning("Reply %s was not delivered: %s", report.provider_id, report.error)
    return changed
