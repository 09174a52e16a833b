"""Event streams end when their web worker stops, so a restart takes seconds, not half a minute.

uvicorn lets open responses finish before it exits, and a browser's event stream (a console
tab, the web chat) stays open for minutes: a SIGTERM waited the supervisor's 30 s and ended
in SIGKILL. The web worker sets the app's `stopping` event when its signal comes
(chatbot/runtime/web_worker.py); each stream ends at its next turn, and the browser's
EventSource reconnects, to another worker or to this one once it is back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from fastapi import Request

T = TypeVar("T")


def stopping(request: Request) -> asyncio.Event:
    """The app's "the server is stopping" event (set once, never cleared)."""
    event: asyncio.Event = request.app.state.stopping
    return event


async def unless_stopping(request: Request, waiting: Awaitable[T]) -> tuple[bool, T | None]:
    """`waiting`'s result, unless the server starts stopping first: (stopped, result)."""
    stop = stopping(request)
    if stop.is_set():
        return True, None
    work = asyncio.ensure_future(waiting)
    stopped = asyncio.ensure_future(stop.wait())
    await asyncio.wait({work, stopped}, return_when=asyncio.FIRST_COMPLETED)
    if work.done():
        stopped.cancel()
        return False, work.result()
    work.cancel()
    return True, None
