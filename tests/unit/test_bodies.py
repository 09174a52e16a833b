"""BodyReader: size cap, time cap, and a cap on unproven bodies read at once (per process)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from starlette.requests import Request

from chatbot.errors import BodyTooSlow, Overloaded, PayloadTooLarge
from chatbot.web.bodies import BodyReader

Receive = Callable[[], Awaitable[dict[str, Any]]]


def request_with(receive: Receive, headers: dict[str, str] | None = None) -> Request:
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/webhooks/twilio",
        "query_string": b"",
        "headers": [(k.encode(), v.encode()) for k, v in (headers or {}).items()],
    }
    return Request(scope, receive)


def trickle(chunks: int, size: int, pause: float = 0.0) -> Receive:
    """A body sent in `chunks` parts, `pause` seconds apart."""
    sent = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        await asyncio.sleep(pause)
        sent += 1
        return {"type": "http.request", "body": b"x" * size, "more_body": sent < chunks}

    return receive


def reader(max_pending: int = 2, timeout: float = 5.0) -> BodyReader:
    return BodyReader(
        public_url="https://loket.example", max_pending=max_pending, timeout_seconds=timeout
    )


async def read(
    bodies: BodyReader, receive: Receive, *, limit: int = 1000, proven: bool = False
) -> bytes:
    request = request_with(receive)
    raw = await bodies.read(request, bodies.head(request), limit=limit, proven=proven)
    return raw.body


async def test_a_body_within_the_limits_is_read_whole() -> None:
    assert await read(reader(), trickle(3, 100)) == b"x" * 300


async def test_a_body_streamed_past_the_limit_is_cut_at_the_limit() -> None:
    with pytest.raises(PayloadTooLarge):
        await read(reader(), trickle(100, 100), limit=1000)


async def test_a_body_that_trickles_in_too_slowly_is_refused() -> None:
    with pytest.raises(BodyTooSlow):
        await read(reader(timeout=0.2), trickle(100, 1, pause=0.05))


async def test_unproven_bodies_beyond_the_pending_cap_are_refused_at_once() -> None:
    bodies = reader(max_pending=2, timeout=5.0)
    slow = [asyncio.create_task(read(bodies, trickle(20, 10, pause=0.05))) for _ in range(2)]
    await asyncio.sleep(0.01)  # both are reading now
    with pytest.raises(Overloaded):
        await read(bodies, trickle(1, 10))
    assert await read(bodies, trickle(1, 10), proven=True) == b"x" * 10  # Telegram passes
    assert [len(b) for b in await asyncio.gather(*slow)] == [200, 200]
    assert await read(bodies, trickle(1, 10)) == b"x" * 10  # the places are free again
