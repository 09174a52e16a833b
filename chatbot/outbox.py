"""Durable delivery: send what the desk wrote to the outbox, in order per chat, with retries."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Mapping
from datetime import timedelta

from sqlalchemy import Engine, RowMapping

from chatbot.channels.base import Channel
from chatbot.clock import Clock
from chatbot.domain import OutboundMessage, OutButton
from chatbot.errors import RetryLater, SendFailed
from db import queries

logger = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)  # a claimed reply is not sent again by others before this


def backoff_seconds(attempts: int) -> float:
    """1, 2, 4 ... seconds, capped at five minutes."""
    return float(min(300, 2 ** max(0, attempts - 1)))


class OutboxDispatcher:
    """Sends due replies through their channel; a reply that finally fails is marked, not lost."""

    def __init__(
        self,
        engine: Engine,
        channels: Mapping[str, Channel],
        clock: Clock,
        *,
        max_attempts: int = 8,
        batch: int = 100,
    ) -> None:
        self._engine = engine
        self._channels = channels
        self._clock = clock
        self._max_attempts = max_attempts
        self._batch = batch

    async def run(self, poll_seconds: float, stop: asyncio.Event) -> None:
        """Dispatch until `stop` is set; a failing round is logged, never fatal."""
        while not stop.is_set():
            try:
                sent = await self.dispatch_once()
            except Exception:
                logger.exception("Outbox round failed; retrying on the next tick.")
                sent = 0
            if not sent:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=poll_seconds)

    async def dispatch_once(self) -> int:
        """Send the head reply of every chat that has one due; returns how many were tried."""
        now = self._clock.now()
        with self._engine.begin() as conn:
            due = queries.list_due_outbox(conn, now=now, limit=self._batch)
            claimed = [
                item
                for item in due
                if queries.claim_outbox(
                    conn, item_id=item["id"], due_at=item["due_at"], until=now + LEASE
                )
            ]
        await asyncio.gather(*(self._deliver(item) for item in claimed))
        return len(claimed)

    async def _deliver(self, item: RowMapping) -> None:
        channel = self._channels.get(item["channel"])
        attempts = int(item["attempts"]) + 1
        buttons = tuple(
            OutButton(b["payload"], b["label"]) for b in json.loads(item["buttons_json"] or "[]")
        )
        message = OutboundMessage(
            channel=item["channel"],
            chat_id=item["chat_id"],
            text=item["text"],
            buttons=buttons,
            message_id=item["message_id"],
        )
        try:
            if channel is None:
                raise SendFailed(f"channel '{item['channel']}' is not configured")
            provider_id = await channel.send(message)
        except RetryLater as exc:
            self._retry_or_fail(
                item, attempts, max(exc.seconds, backoff_seconds(attempts)), str(exc)
            )
        except SendFailed as exc:
            self._fail(item, str(exc))
        except Exception as exc:  # an unexpected error must not lose the reply
            logger.exception(
                "Case %s: sending message %s raised.", item["case_id"], item["message_id"]
            )
            self._retry_or_fail(item, attempts, backoff_seconds(attempts), repr(exc))
        else:
            with self._engine.begin() as conn:
                queries.mark_sent(
                    conn,
                    item_id=item["id"],
                    message_id=item["message_id"],
                    provider_id=provider_id,
                    now=self._clock.now(),
                )

    def _retry_or_fail(self, item: RowMapping, attempts: int, wait: float, error: str) -> None:
        if attempts >= self._max_attempts:
            self._fail(item, f"gave up after {attempts} attempts: {error}")
            return
        logger.warning(
            "Case %s: message %s will be retried in %.0fs (%s).",
            item["case_id"],
            item["message_id"],
            wait,
            error,
        )
        with self._engine.begin() as conn:
            queries.mark_retry(
                conn,
                item_id=item["id"],
                message_id=item["message_id"],
                attempts=attempts,
                due_at=self._clock.now() + timedelta(seconds=wait),
                error=error,
            )

    def _fail(self, item: RowMapping, error: str) -> None:
        logger.error(
            "Case %s: message %s failed for good: %s", item["case_id"], item["message_id"], error
        )
        with self._engine.begin() as conn:
            queries.mark_failed(
                conn,
                item_id=item["id"],
                message_id=item["message_id"],
                error=error,
                now=self._clock.now(),
            )
