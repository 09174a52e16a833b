"""Background database work runs on the event loop's own thread, then gives the loop a turn.

The background loops (stepper, outbox, timers, media keeper) call their transactions here,
not in a thread. Measured on the webhook bench (docs/decisions/0009): the background worker
spent 15-16 s of CPU on 6,000 messages and 2,600 replies with its transactions in asyncio's
pool of threads, 9-11 s with them on one thread of their own, and 5.3-6.5 s with them on the
loop. Each hand-off to a thread and back was a GIL exchange between two busy threads, and
the pool's threads raced for SQLite's one write lock. The transactions are short (a step
batch stops after 5 ms on SQLite) and are what the worker is for: sends waiting for the loop
meanwhile lose nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


async def in_turn(work: Callable[..., T], *args: Any) -> T:
    """`work(*args)` here and now, then a turn for the loop's other tasks (sends, timers)."""
    result = work(*args)
    await asyncio.sleep(0)
    return result
