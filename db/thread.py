"""One thread for a process's background database work, run in the order it was asked for.

The background loops (stepper, outbox, timers, media keeper) hand their transactions to one
`DatabaseThread` instead of asyncio's default pool of several threads. SQLite has one writer:
pool threads of one process raced for it, retrying BEGIN IMMEDIATE, and traded the GIL with
the event loop; the same messages and replies took 40-60% more CPU
(docs/decisions/0009-speed-tricks-and-what-each-bought.md). On PostgreSQL a worker is bound
by its CPU long before one thread's round trips; more workers scale it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

T = TypeVar("T")


class DatabaseThread:
    """Runs blocking database work off the event loop, one call at a time."""

    def __init__(self, name: str = "loket-db") -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)

    async def run(self, work: Callable[..., T], *args: Any) -> T:
        """`work(*args)` on the thread, after what was asked before it; its result."""
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, partial(work, *args)
        )
