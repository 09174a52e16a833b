"""Run a coroutine on an event loop of its own thread.

The browser tests' session-wide Playwright keeps a loop running in the worker's main thread,
so a test that needs asyncio after one of them, in the same xdist worker, runs its own.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run_in_own_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(coroutine)` in a fresh thread; returns its result or raises its error."""
    with concurrent.futures.ThreadPoolExecutor(1) as own:
        return own.submit(asyncio.run, coroutine).result()
